package local

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestGatewayResponsesFromTemplate renders template.yaml's gateway
// responses as the local gateway (and API Gateway) does: the authorizer's
// two refusals must be told apart by code and RFC 6750 challenge, and
// every response must be TokenIM's error shape.
func TestGatewayResponsesFromTemplate(t *testing.T) {
	g := gatewayResponses(templateRESTAPI(t).GatewayResponses)
	tests := []struct {
		typ       string
		status    int
		code      string
		challenge string
	}{
		{"UNAUTHORIZED", 401, "unauthorized", "Bearer"},                         // no token
		{"ACCESS_DENIED", 401, "invalid_token", `Bearer error="invalid_token"`}, // the authorizer's Deny of a bad token
		{"MISSING_AUTHENTICATION_TOKEN", 404, "route_not_found", ""},
		{"REQUEST_TOO_LARGE", 413, "payload_too_large", ""},
		{"THROTTLED", 429, "rate_limited", ""},
		{"INTEGRATION_TIMEOUT", 504, "gateway_timeout", ""},
		{"INTEGRATION_FAILURE", 502, "bad_gateway", ""},
		{"AUTHORIZER_FAILURE", 500, "internal", ""},
		{"BAD_REQUEST_BODY", 400, "invalid_request", ""},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.write(w, tc.typ, "req-1")
			var body struct {
				Error struct {
					Code      string `json:"code"`
					Message   string `json:"message"`
					RequestID string `json:"request_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if w.Code != tc.status || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
			if body.Error.RequestID != "req-1" {
				t.Errorf("request_id = %q", body.Error.RequestID)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
		})
	}
}
