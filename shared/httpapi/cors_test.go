package httpapi

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/logging"
)

// TestCORSHeaders: every answer (success, a handler's error, an unknown
// route, a panic) names the allowed origin and exposes the headers
// clients read, so a web app on another origin can read them.
func TestCORSHeaders(t *testing.T) {
	routes := []Route{
		{Method: "POST", Resource: "/v1/things", Public: true, Handler: func(context.Context, *Request) (Response, error) {
			return Response{Status: 201, Body: map[string]string{"id": "a"}, Headers: map[string]string{"Location": "/v1/things/a"}}, nil
		}},
		{Method: "GET", Resource: "/v1/things/{id}", Public: true, Handler: func(context.Context, *Request) (Response, error) {
			return Response{}, apierror.New(apierror.RateLimited, "slow down").WithDetails(map[string]any{"retry_after_ms": int64(1500)})
		}},
		{Method: "GET", Resource: "/boom", Public: true, Handler: func(context.Context, *Request) (Response, error) { panic("boom") }},
	}
	for _, tc := range []struct {
		name, configured, want string
	}{
		{"default", "", "*"},
		{"one origin", "https://app.example.com", "https://app.example.com"},
	} {
		h := New(logging.NewTo(io.Discard, "test"), routes...)
		if tc.configured != "" {
			h.WithCORS(CORS{AllowOrigin: tc.configured})
		}
		for _, call := range []struct{ method, resource, path string }{
			{"POST", "/v1/things", "/v1/things"},
			{"GET", "/v1/things/{id}", "/v1/things/a"},
			{"GET", "/nothing", "/nothing"},
			{"GET", "/boom", "/boom"},
		} {
			resp, _ := invoke(t, h, events.APIGatewayProxyRequest{HTTPMethod: call.method, Resource: call.resource, Path: call.path,
				Headers: map[string]string{"Origin": "https://app.example.com"}})
			where := tc.name + " " + call.method + " " + call.path
			if got := resp.Headers["Access-Control-Allow-Origin"]; got != tc.want {
				t.Errorf("%s (%d): Access-Control-Allow-Origin = %q, want %q", where, resp.StatusCode, got, tc.want)
			}
			exposed := resp.Headers["Access-Control-Expose-Headers"]
			for _, name := range []string{"Location", "Retry-After", "Idempotent-Replayed", "Deprecation", "Sunset", "Link", "X-Request-Id"} {
				if !strings.Contains(", "+exposed+",", ", "+name+",") {
					t.Errorf("%s: Access-Control-Expose-Headers %q lacks %s", where, exposed, name)
				}
			}
		}
	}
}

// TestCORSExposesWhatResponsesCarry: every header the REST code sets on a
// response (this package and functions/*, read as source), beyond the
// CORS-safelisted ones, is in ExposeHeaders: a new header a client must
// read fails here until it is exposed.
func TestCORSExposesWhatResponsesCarry(t *testing.T) {
	allowed := map[string]bool{"Content-Type": true, "Cache-Control": true, "Content-Language": true, "Expires": true,
		"Last-Modified": true, "Pragma": true, "Access-Control-Allow-Origin": true, "Access-Control-Expose-Headers": true}
	for _, n := range ExposeHeaders {
		allowed[n] = true
	}
	set := regexp.MustCompile(`[Hh]eaders\["([A-Za-z-]+)"\]\s*=|Headers: map\[string\]string\{"([A-Za-z-]+)"`)
	files, _ := filepath.Glob("../../functions/*/*.go")
	own, _ := filepath.Glob("*.go")
	found := map[string]string{}
	for _, f := range append(files, own...) {
		if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "/websocket/") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range set.FindAllStringSubmatch(string(b), -1) {
			found[m[1]+m[2]] = f
		}
	}
	if len(found) < 8 || found["Location"] == "" {
		t.Fatalf("the source walk found too little: %v", found)
	}
	for name, f := range found {
		if !allowed[http.CanonicalHeaderKey(name)] && !allowed[name] {
			t.Errorf("%s sets the response header %s, which ExposeHeaders does not list", f, name)
		}
	}
}
