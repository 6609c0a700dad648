package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/logging"
)

func invoke(t *testing.T, h *Handler, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(ev)
	reply, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("a handler must never return a function error: %v", err)
	}
	var resp events.APIGatewayProxyResponse
	json.Unmarshal(reply, &resp)
	var body map[string]any
	json.Unmarshal([]byte(resp.Body), &body)
	return resp, body
}

func TestPanicBecomesInternal(t *testing.T) {
	logs := &bytes.Buffer{}
	secret := "Bearer eyJ-super-secret-token"
	h := New(logging.NewTo(logs, "t"), Route{Method: "GET", Resource: "/boom", Public: true, Handler: func(context.Context, *Request) (Response, error) {
		panic("database password is hunter2")
	}})
	ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/boom", Path: "/boom", Headers: map[string]string{"Authorization": secret}}
	ev.RequestContext.RequestID = "req-1"
	resp, body := invoke(t, h, ev)
	e := body["error"].(map[string]any)
	if resp.StatusCode != 500 || e["code"] != "internal" || e["request_id"] != "req-1" {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "hunter2") {
		t.Fatal("panic detail reached the client")
	}
	if !strings.Contains(logs.String(), `"stack"`) || !strings.Contains(logs.String(), "req-1") {
		t.Fatalf("panic not logged with stack and request id: %s", logs)
	}
	if strings.Contains(logs.String(), "super-secret") {
		t.Fatal("a token reached the logs")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
	}
}

func TestErrorAndLogShape(t *testing.T) {
	logs := &bytes.Buffer{}
	h := New(logging.NewTo(logs, "t"))
	ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/nope", Path: "/nope"}
	ev.RequestContext.RequestID = "req-2"
	resp, body := invoke(t, h, ev)
	if resp.StatusCode != 404 || body["error"].(map[string]any)["code"] != "route_not_found" {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	var line map[string]any
	json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line)
	for _, k := range []string{"request_id", "route", "status", "latency_ms", "error_code"} {
		if _, ok := line[k]; !ok {
			t.Errorf("log line lacks %s: %v", k, line)
		}
	}
}
