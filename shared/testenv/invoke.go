package testenv

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
)

// Fixture reads events/<name> into v.
func Fixture(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(template.RepoRoot(), "events", name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
}

// Invoke calls handler exactly as Lambda does: the event is serialized to
// JSON, passed through lambda.NewHandler, and the reply decoded into out.
func Invoke(t testing.TB, handler any, event any, out any) {
	t.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatalf("marshal event: %v", err)
	}
	reply, err := lambda.NewHandler(handler).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if out != nil {
		if err := json.Unmarshal(reply, out); err != nil {
			t.Fatalf("decode reply %s: %v", reply, err)
		}
	}
}

// Reply is a decoded REST response.
type Reply struct {
	Status  int
	Headers map[string]string
	Body    string
	JSON    map[string]any
}

// ErrorCode returns error.code of an error body ("" if none).
func (r Reply) ErrorCode() string {
	e, _ := r.JSON["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// REST builds a REST event from the events/rest-request.json fixture.
type REST struct {
	Method, Resource, Path string
	PathParams             map[string]string
	Query                  map[string]string
	Headers                map[string]string
	Body                   string
	Principal              *auth.Principal // nil: no authorizer context
}

// Event returns the API Gateway proxy event for r.
func (r REST) Event(t testing.TB) events.APIGatewayProxyRequest {
	t.Helper()
	var ev events.APIGatewayProxyRequest
	Fixture(t, "rest-request.json", &ev)
	ev.HTTPMethod, ev.Resource, ev.Path = r.Method, r.Resource, r.Path
	ev.RequestContext.HTTPMethod, ev.RequestContext.ResourcePath = r.Method, r.Resource
	ev.RequestContext.RequestID = "req-" + randHex(6)
	ev.PathParameters, ev.QueryStringParameters = r.PathParams, r.Query
	if ev.Headers == nil {
		ev.Headers = map[string]string{}
	}
	for k, v := range r.Headers {
		ev.Headers[k] = v
	}
	if r.Body != "" {
		if _, ok := r.Headers["Content-Type"]; !ok {
			ev.Headers["Content-Type"] = "application/json"
		}
	}
	ev.Body = r.Body
	ev.RequestContext.Authorizer = nil
	if r.Principal != nil {
		ev.RequestContext.Authorizer = r.Principal.ContextFields()
	}
	return ev
}

// Call invokes a REST handler with r and decodes the reply.
func Call(t testing.TB, handler any, r REST) Reply {
	t.Helper()
	var resp events.APIGatewayProxyResponse
	Invoke(t, handler, r.Event(t), &resp)
	out := Reply{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}
	if resp.Body != "" {
		json.Unmarshal([]byte(resp.Body), &out.JSON)
	}
	return out
}

// Admin and User are principals for tests.
func Admin() *auth.Principal { return &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_test"} }

// User returns a user principal.
func User(id string) *auth.Principal { return &auth.Principal{Kind: auth.KindUser, UserID: id} }
