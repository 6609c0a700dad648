package lambdahook

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

type fakeLambda struct {
	in  *lambda.InvokeInput
	out *lambda.InvokeOutput
	err error
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = in
	return f.out, f.err
}

// TestCall: the function is invoked synchronously with the body; its
// payload is the answer; a function error or a failed call is an error.
func TestCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fakeLambda
		ok   bool
	}{
		{"answer", &fakeLambda{out: &lambda.InvokeOutput{Payload: []byte(`{"action":"allow"}`)}}, true},
		{"function error", &fakeLambda{out: &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{}`)}}, false},
		{"call failed", &fakeLambda{err: errors.New("AccessDeniedException")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Caller{API: tc.f, Function: "arn:aws:lambda:us-east-1:123456789012:function:mod"}
			out, err := c.Call(context.Background(), []byte(`{"text":"hi"}`))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if string(tc.f.in.Payload) != `{"text":"hi"}` || aws.ToString(tc.f.in.FunctionName) != c.Function || tc.f.in.InvocationType != "RequestResponse" {
				t.Errorf("invoked with %+v", tc.f.in)
			}
			if tc.ok && string(out) != `{"action":"allow"}` {
				t.Errorf("answer %s", out)
			}
		})
	}
}
