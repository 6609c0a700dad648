package ratelimit_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/ratelimit"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestRESTRetryAfter: a rate_limited answer is 429 with Retry-After in
// whole seconds (rounded up) and details.retry_after_ms.
func TestRESTRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
		ms   float64
	}{{1500 * time.Millisecond, "2", 1500}, {200 * time.Millisecond, "1", 200}, {3 * time.Second, "3", 3000}} {
		h := httpapi.New(logging.NewTo(io.Discard, "t"), httpapi.Route{Method: "POST", Resource: "/v1/x", Handler: func(context.Context, *httpapi.Request) (httpapi.Response, error) {
			return httpapi.Response{}, ratelimit.Error("messages", tc.wait)
		}}).Handle
		r := testenv.Call(t, h, testenv.REST{Method: "POST", Resource: "/v1/x", Path: "/v1/x", Principal: testenv.User("u")})
		d, _ := r.JSON["error"].(map[string]any)["details"].(map[string]any)
		if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Headers["Retry-After"] != tc.want || d["retry_after_ms"] != tc.ms {
			t.Errorf("wait %v: %d %v %s", tc.wait, r.Status, r.Headers, r.Body)
		}
	}
}
