package local

import (
	"bytes"
	"encoding/base64"
	"net/http/httptest"
	"testing"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// TestBinaryMediaTypesFromTemplate: template.yaml's BinaryMediaTypes are
// written as SAM requires ("text~1csv"); the gateway decodes them as API
// Gateway does, so a CSV body reaches the function byte for byte.
func TestBinaryMediaTypesFromTemplate(t *testing.T) {
	g := &RESTGateway{api: templateRESTAPI(t), stage: "prod"}
	body := []byte("user_id,nickname\nx,caf\xe9\n")
	tests := []struct {
		contentType string
		base64      bool
	}{
		{"text/csv", true},
		{"text/csv; charset=utf-8", true},
		{"Text/CSV ; charset=utf-8", true},
		{"text/csv; charset", true}, // malformed parameter: the type still matches
		{"application/json", false},
		{"text/plain", false},
		{"text/csvx", false},
		{"", false}, // API Gateway's default, application/json
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/jobs/users", bytes.NewReader(body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			ev := g.event(r, "/v1/jobs/users", &restRoute{RestRoute: template.RestRoute{Path: "/v1/jobs/users"}}, nil, body, runtime.NewRequestID())
			if ev.IsBase64Encoded != tc.base64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tc.base64)
			}
			if !tc.base64 {
				return
			}
			got, err := base64.StdEncoding.DecodeString(ev.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("body %q (%v), want %q", got, err, body)
			}
		})
	}
}

// TestBinaryMediaPatterns: the escapes and wildcards API Gateway accepts.
func TestBinaryMediaPatterns(t *testing.T) {
	tests := []struct {
		pattern, contentType string
		want                 bool
	}{
		{"*~1*", "application/json", true},
		{"*~1*", "", true},
		{"image~1*", "image/png", true},
		{"image~1*", "imagex/png", false},
		{"application~1vnd.a~0b", "application/vnd.a~b", true},
		{"text~1csv", "text/csv;charset=utf-8", true},
		{"text/csv", "text/csv", true}, // unescaped, as the console shows it
		{"text~1csv", "text/plain", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.contentType, func(t *testing.T) {
			g := &RESTGateway{api: template.RestAPI{BinaryMediaTypes: []string{tc.pattern}}}
			if got := g.binary(tc.contentType, []byte("a")); got != tc.want {
				t.Errorf("binary = %v, want %v", got, tc.want)
			}
		})
	}
}
