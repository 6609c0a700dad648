package app

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestPreSendHookGuard: no hook is no guard; a configuration that cannot
// work is an init error, not an unscreened send path.
func TestPreSendHookGuard(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         PreSendHook
		wantGuard bool
		wantErr   bool
	}{
		{"none", PreSendHook{}, false, false},
		{"lambda", PreSendHook{ARN: "arn:aws:lambda:us-east-1:123456789012:function:mod", Policy: "reject"}, true, false},
		{"https", PreSendHook{URL: "https://hooks.example.com/p"}, true, false},
		{"http in the cloud", PreSendHook{URL: "http://hooks.example.com/p"}, false, true},
		{"http locally", PreSendHook{URL: "http://127.0.0.1:9000/p", AllowHTTP: true}, true, false},
		{"both", PreSendHook{ARN: "arn:aws:lambda:us-east-1:123456789012:function:mod", URL: "https://h.example.com"}, false, true},
		{"bad policy", PreSendHook{URL: "https://h.example.com", Policy: "maybe"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.p.Guard(aws.Config{Region: "us-east-1"}, nil)
			if (err != nil) != tc.wantErr || (g != nil) != tc.wantGuard {
				t.Fatalf("guard %v, err %v; want guard=%v err=%v", g, err, tc.wantGuard, tc.wantErr)
			}
		})
	}
}
