package local

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/provision"
	"github.com/tokenim/tokenim/infra/template"
)

type fakeInvoker struct {
	out []byte
	err error
}

func (f fakeInvoker) Invoke(context.Context, []byte) ([]byte, error) { return f.out, f.err }

func policy(effect, resource string) []byte {
	b, _ := json.Marshal(map[string]any{"principalId": "user:a", "context": map[string]any{"user_id": "a", "n": 1.0, "nested": map[string]any{}},
		"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Effect": effect, "Action": []string{"execute-api:Invoke"}, "Resource": []string{resource}}}}})
	return b
}

func TestAuthorize(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:000000000000:api/prod/GET/v1/users/a"
	tests := []struct {
		name string
		fn   fakeInvoker
		want authDecision
	}{
		{"allow exact", fakeInvoker{out: policy("Allow", arn)}, authAllow},
		{"allow wildcard", fakeInvoker{out: policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:api/prod/*")}, authAllow},
		{"allow other method", fakeInvoker{out: policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:api/prod/POST/*")}, authDenied},
		{"deny", fakeInvoker{out: policy("Deny", arn)}, authDenied},
		{"Unauthorized", fakeInvoker{err: &runtime.Error{Kind: runtime.Handled, Message: "Unauthorized"}}, authUnauthorized},
		{"other error", fakeInvoker{err: &runtime.Error{Kind: runtime.Handled, Message: "boom"}}, authFailed},
		{"timeout", fakeInvoker{err: &runtime.Error{Kind: runtime.Timeout, Message: "Unauthorized"}}, authFailed},
		{"not a policy", fakeInvoker{out: []byte(`"hello"`)}, authFailed},
		{"no principal", fakeInvoker{out: []byte(`{"policyDocument":{}}`)}, authFailed},
		{"plain error", fakeInvoker{err: errors.New("x")}, authFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := authorize(context.Background(), tc.fn, map[string]any{}, arn)
			if res.decision != tc.want {
				t.Fatalf("decision = %v, want %v", res.decision, tc.want)
			}
			if tc.want == authAllow {
				if res.context["principalId"] != "user:a" || res.context["user_id"] != "a" || res.context["n"] != 1.0 {
					t.Errorf("context = %v", res.context)
				}
				if _, ok := res.context["nested"]; ok {
					t.Error("a nested context value was passed on")
				}
			}
		})
	}
}

func TestMatchSegments(t *testing.T) {
	tests := []struct {
		pattern, path string
		ok            bool
		params        map[string]string
	}{
		{"/v1/users", "/v1/users", true, nil},
		{"/v1/users/{id}", "/v1/users/a", true, map[string]string{"id": "a"}},
		{"/v1/users/{id}", "/v1/users", false, nil},
		{"/v1/users/{id}", "/v1/users/a/b", false, nil},
		{"/v1/users/{id}", "/v1/users/", false, nil},
		{"/files/{p+}", "/files/a/b", true, map[string]string{"p": "a/b"}},
		{"/files/{p+}", "/files", false, nil},
	}
	for _, tc := range tests {
		params, _, ok := matchSegments(split(tc.pattern), split(tc.path))
		if ok != tc.ok {
			t.Errorf("%s ~ %s = %v", tc.pattern, tc.path, ok)
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s ~ %s: %s = %q", tc.pattern, tc.path, k, params[k])
			}
		}
	}
}

func TestGatewayResponses(t *testing.T) {
	g := gatewayResponses{
		"UNAUTHORIZED": {StatusCode: 401, Headers: map[string]string{"WWW-Authenticate": "Bearer"}, Templates: map[string]string{"application/json": `{"id":"$context.requestId"}`}},
		"DEFAULT_4XX":  {Templates: map[string]string{"application/json": `{"d4":"$context.error.responseType"}`}},
		"DEFAULT_5XX":  {Templates: map[string]string{"application/json": `{"d5":$context.error.messageString}`}},
	}
	tests := []struct {
		typ    string
		status int
		body   string
	}{
		{"UNAUTHORIZED", 401, `{"id":"r1"}`},
		{"ACCESS_DENIED", 403, `{"d4":"ACCESS_DENIED"}`},
		{"INTEGRATION_TIMEOUT", 504, `{"d5":"Endpoint request timed out"}`},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		g.write(w, tc.typ, "r1")
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %s", tc.typ, w.Code, w.Body)
		}
	}
}

func TestSelectRoute(t *testing.T) {
	tests := []struct {
		frame string
		path  []string
		want  string
	}{
		{`{"action":"ping"}`, []string{"action"}, "ping"},
		{`{"action":""}`, []string{"action"}, ""},
		{`{"action":1}`, []string{"action"}, ""},
		{`{"a":{"b":"x"}}`, []string{"a", "b"}, "x"},
		{`not json`, []string{"action"}, ""},
		{`["action"]`, []string{"action"}, ""},
	}
	for _, tc := range tests {
		if got, _ := selectRoute([]byte(tc.frame), tc.path); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.frame, got, tc.want)
		}
	}
}

func TestFrameSniffer(t *testing.T) {
	frame := func(n int, masked bool) []byte {
		var h []byte
		mask := byte(0)
		if masked {
			mask = 0x80
		}
		switch {
		case n < 126:
			h = []byte{0x81, mask | byte(n)}
		case n < 1<<16:
			h = []byte{0x81, mask | 126, byte(n >> 8), byte(n)}
		default:
			h = []byte{0x81, mask | 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		}
		if masked {
			h = append(h, 1, 2, 3, 4)
		}
		return append(h, make([]byte, n)...)
	}
	tests := []struct {
		name   string
		frames [][]byte
		ok     bool
	}{
		{"small", [][]byte{frame(10, true), frame(125, true)}, true},
		{"exactly 32 KB", [][]byte{frame(32<<10, true)}, true},
		{"over 32 KB", [][]byte{frame(10, true), frame(32<<10+1, true)}, false},
		{"64-bit length", [][]byte{frame(70000, false)}, false},
	}
	for _, tc := range tests {
		s := &frameSniffer{max: 32 << 10}
		var all []byte
		for _, f := range tc.frames {
			all = append(all, f...)
		}
		ok := true
		// Feed in odd-sized chunks: headers split across reads too.
		for len(all) > 0 && ok {
			n := min(len(all), 7)
			ok = s.scan(all[:n])
			all = all[n:]
		}
		if ok != tc.ok {
			t.Errorf("%s: ok = %v", tc.name, ok)
		}
	}
}

func TestResolver(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Tmpl: tmpl, Region: "us-east-1", AccountID: "000000000000", StackName: "tokenim-local",
		Res:  provision.Resources{Tables: map[string]string{"UsersTable": "local-UsersTable"}, Secrets: map[string]string{"SigningKeySecret": "arn:secret"}},
		APIs: map[string]string{"WebSocketApi": "http://127.0.0.1:3001"}}
	tests := []struct {
		in   any
		want string
	}{
		{map[string]any{"Ref": "UsersTable"}, "local-UsersTable"},
		{map[string]any{"Ref": "SigningKeySecret"}, "arn:secret"},
		{map[string]any{"Ref": "AWS::StackName"}, "tokenim-local"},
		{map[string]any{"Ref": "StageName"}, "prod"},
		{map[string]any{"Fn::GetAtt": []any{"UsersTable", "Arn"}}, "arn:aws:dynamodb:us-east-1:000000000000:table/local-UsersTable"},
		{map[string]any{"Fn::Sub": "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"}, "http://127.0.0.1:3001/prod"},
		{map[string]any{"Fn::Sub": "wss://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"}, "ws://127.0.0.1:3001/prod"},
		{map[string]any{"Fn::Sub": []any{"${A}-${!Literal}", map[string]any{"A": "x"}}}, "x-${Literal}"},
		{map[string]any{"Fn::Join": []any{",", []any{"a", map[string]any{"Ref": "AWS::Region"}}}}, "a,us-east-1"},
	}
	for _, tc := range tests {
		got, err := r.Value(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%v = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := r.Value(map[string]any{"Ref": "Nope"}); err == nil {
		t.Error("unknown !Ref resolved")
	}

	// Conditions follow the parameters: the default has no user pool, so
	// the Cognito issuer is empty; an existing pool id fills it in.
	var tokenEnv map[string]any
	for _, f := range tmpl.Functions() {
		if f.LogicalID == "TokenFunction" {
			tokenEnv = f.Environment
		}
	}
	for _, tc := range []struct {
		pool, want string
	}{
		{"none", ""},
		{"us-east-1_AbC123", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"},
	} {
		r.Params = map[string]string{"CognitoUserPool": tc.pool}
		got, err := r.Value(tokenEnv["COGNITO_ISSUER"])
		if err != nil || got != tc.want {
			t.Errorf("pool %s: COGNITO_ISSUER = %q, %v; want %q", tc.pool, got, err, tc.want)
		}
	}
	r.Params = nil
	if _, err := r.Condition("Nope"); err == nil {
		t.Error("unknown condition evaluated")
	}
}
