package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestServesWholeTemplate: every REST route, WebSocket route, SQS trigger
// and DynamoDB stream trigger of a template is served locally
// (template.yaml and the fixture).
func TestServesWholeTemplate(t *testing.T) {
	for _, name := range []string{"template.yaml", "testdata/template.yaml"} {
		t.Run(name, func(t *testing.T) {
			testenv.NeedAWS(t) // before reading anything: the stack provisions in the emulator
			tmpl, err := template.LoadDefault()
			if err != nil {
				t.Fatal(err)
			}
			if name != "template.yaml" {
				tmpl = loadFixture(t)
			}
			s := startStack(t, tmpl, nil)
			served := map[string]bool{}
			for _, k := range s.Served() {
				served[k] = true
			}
			var want []string
			for _, r := range tmpl.RestRoutes() {
				want = append(want, "REST "+r.Key())
			}
			for _, a := range tmpl.WebSocketAPIs() {
				for _, r := range a.Routes {
					want = append(want, "WS "+r.RouteKey)
				}
			}
			for _, src := range tmpl.SQSSources() {
				want = append(want, "SQS "+src.Function+"."+src.Event)
			}
			streams, err := tmpl.DynamoDBSources()
			if err != nil {
				t.Fatal(err)
			}
			for _, src := range streams {
				want = append(want, "DynamoDB "+src.Function+"."+src.Event)
			}
			if len(want) == 0 {
				t.Fatal("template has nothing to serve")
			}
			for _, k := range want {
				if !served[k] {
					t.Errorf("template declares %s; the local stack does not serve it", k)
				}
			}
			if len(served) != len(want) {
				t.Errorf("served %d, template has %d: %v", len(served), len(want), s.Served())
			}
		})
	}
}

// TestRESTWithTemplate drives the real functions through the gateway.
func TestRESTWithTemplate(t *testing.T) {
	s := startStack(t, nil, nil)
	admin := s.adminToken(t)
	bearer := map[string]string{"Authorization": "Bearer " + admin}
	user := testenv.ID("rest")
	userTok := s.userToken(t, admin, user)

	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"authorized get", "GET", "/v1/users/" + user, bearer, "", 200, ""},
		{"stage prefix as on AWS", "GET", "/prod/v1/users/" + user, bearer, "", 200, ""},
		{"list with query", "GET", "/v1/users?limit=1&limit=2", bearer, "", 200, ""},
		{"no token", "GET", "/v1/users/" + user, nil, "", 401, "unauthorized"},
		{"empty Authorization", "GET", "/v1/users/" + user, map[string]string{"Authorization": ""}, "", 401, "unauthorized"},
		{"empty bearer", "GET", "/v1/users/" + user, map[string]string{"Authorization": "Bearer "}, "", 401, "unauthorized"},
		{"malformed token", "GET", "/v1/users/" + user, map[string]string{"Authorization": "Bearer nonsense"}, "", 401, "invalid_token"},
		{"forged token", "GET", "/v1/users/" + user, map[string]string{"Authorization": "Bearer " + forge(userTok)}, "", 401, "invalid_token"},
		{"expired token", "GET", "/v1/users/" + user, map[string]string{"Authorization": "Bearer " + s.expiredToken(t, user)}, "", 401, "invalid_token"},
		{"revoked credential", "GET", "/v1/users/" + user, map[string]string{"Authorization": "Bearer " + s.revokedAdminToken(t)}, "", 401, "invalid_token"},
		{"deleted user", "GET", "/v1/users/" + user, map[string]string{"Authorization": "Bearer " + s.deletedUserToken(t, admin)}, "", 401, "invalid_token"},
		{"unknown route", "GET", "/v1/nothing", bearer, "", 404, "route_not_found"},
		{"unknown route, no token", "GET", "/nope", nil, "", 404, "route_not_found"},
		{"wrong method", "PUT", "/v1/users", bearer, "", 404, "route_not_found"},
		{"handler error passes through", "GET", "/v1/users/no-such-" + user, bearer, "", 404, "not_found"},
		// Never cleaned to the parent path (a 301 a client follows): the
		// segment is the id, and no id is "..".
		{"dot segment is an id, not the parent", "DELETE", "/v1/users/..", bearer, "", 400, "invalid_id"},
		{"public route without token", "POST", "/v1/auth/token", map[string]string{"Content-Type": "application/json"}, `{"grant_type":"client_credentials","client_id":"x","client_secret":"y"}`, 401, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doString(t, tc.method, s.RESTURL+tc.path, tc.headers, tc.body)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %q", r.status, r.body, tc.status, tc.code)
			}
			if tc.code != "" {
				e := r.json["error"].(map[string]any)
				if e["request_id"] == "" || e["request_id"] != r.header.Get("x-amzn-RequestId") {
					t.Errorf("request_id %v, header %q", e["request_id"], r.header.Get("x-amzn-RequestId"))
				}
			}
			// RFC 6750: a bare challenge when no token came, error="invalid_token" for a bad one.
			wantChallenge, bearerCode := map[string]string{"unauthorized": "Bearer", "invalid_token": `Bearer error="invalid_token"`}[tc.code]
			if bearerCode && r.header.Get("WWW-Authenticate") != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", r.header.Get("WWW-Authenticate"), wantChallenge)
			}
		})
	}

	// template.yaml's BinaryMediaTypes ("text~1csv") must bring a CSV to
	// the jobs function byte for byte: a Latin-1 "é" (0xE9) is then
	// invalid_encoding and nothing is written, rather than a U+FFFD stored.
	t.Run("CSV with a non-UTF-8 byte", func(t *testing.T) {
		var csv bytes.Buffer
		csv.WriteString("user_id,nickname\n")
		for i := range 150 { // more than an inline job: this one would be queued
			fmt.Fprintf(&csv, "%s-csv-%d,n%d\n", user, i, i)
		}
		csv.WriteString(user + "-csv-cafe,caf\xe9\n")
		for _, ct := range []string{"text/csv", "text/csv; charset=utf-8"} {
			r := do(t, "POST", s.RESTURL+"/v1/jobs/users", map[string]string{"Authorization": "Bearer " + admin, "Content-Type": ct}, bytes.NewReader(csv.Bytes()))
			if r.status != 400 || r.errorCode() != "invalid_encoding" {
				t.Fatalf("%s: got %d %s, want 400 invalid_encoding", ct, r.status, r.body)
			}
		}
		out, err := dynamodb.NewFromConfig(testenv.Get(t).Cfg).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.Resources.Tables["JobsTable"]), Limit: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) != 0 {
			t.Errorf("jobs table has items after a refused submit: %v", out.Items[0])
		}
		if r := do(t, "GET", s.RESTURL+"/v1/users/"+user+"-csv-cafe", bearer, nil); r.status != 404 {
			t.Errorf("user from the refused file: %d %s", r.status, r.body)
		}
	})
	t.Run("payload over 10 MB", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), MaxRESTPayload+1)
		r := do(t, "POST", s.RESTURL+"/v1/users", map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/json"}, bytes.NewReader(big))
		if r.status != 413 || r.errorCode() != "payload_too_large" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("CORS preflight", func(t *testing.T) {
		r := do(t, "OPTIONS", s.RESTURL+"/v1/users/"+user, map[string]string{"Origin": "http://example.test", "Access-Control-Request-Method": "PATCH"}, nil)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PATCH") || r.header.Get("Access-Control-Max-Age") != "600" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("got %d %v", r.status, r.header)
		}
		if r := do(t, "OPTIONS", s.RESTURL+"/v1/nothing", nil, nil); r.status != 404 {
			t.Errorf("preflight of an unknown path = %d", r.status)
		}
	})
}

// TestRESTCrossOrigin: a browser app on another origin, with the template
// parameter CorsAllowOrigin set to it: the preflight allows it as API
// Gateway's Cors setting would, and every answer (a function's success
// and error, the gateway's own 401 and 404) names it and exposes the
// headers clients read (docs/versioning.md, "Browsers on another origin").
func TestRESTCrossOrigin(t *testing.T) {
	const origin = "http://app.example.test"
	s := startStack(t, nil, func(o *Options) { o.Params = map[string]string{"CorsAllowOrigin": origin} })
	admin := s.adminToken(t)
	user := testenv.ID("cors")
	fromApp := func(h map[string]string) map[string]string {
		h["Origin"] = origin
		return h
	}
	checkCORS := func(t *testing.T, r reply) {
		t.Helper()
		if got := r.header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("%d: Access-Control-Allow-Origin = %q, want %q", r.status, got, origin)
		}
		exposed := r.header.Get("Access-Control-Expose-Headers")
		for _, h := range []string{"Location", "Retry-After", "Idempotent-Replayed", "Deprecation", "Sunset", "Link", "X-Request-Id"} {
			if !strings.Contains(exposed, h) {
				t.Errorf("%d: Access-Control-Expose-Headers %q lacks %s", r.status, exposed, h)
			}
		}
	}
	t.Run("preflight", func(t *testing.T) {
		r := do(t, "OPTIONS", s.RESTURL+"/v1/users", fromApp(map[string]string{"Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}), nil)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
			t.Fatalf("got %d %v", r.status, r.header)
		}
	})
	t.Run("function answers", func(t *testing.T) {
		h := fromApp(map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/json", "Idempotency-Key": user})
		r := doString(t, "POST", s.RESTURL+"/v1/users", h, `{"user_id":"`+user+`","nickname":"c"}`)
		if r.status != 201 || r.header.Get("Location") == "" {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		checkCORS(t, r)
		r = do(t, "GET", s.RESTURL+"/v1/users/"+user, fromApp(map[string]string{"Authorization": "Bearer " + admin}), nil)
		if r.status != 200 {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		checkCORS(t, r)
		r = do(t, "GET", s.RESTURL+"/v1/users/no-such-"+user, fromApp(map[string]string{"Authorization": "Bearer " + admin}), nil)
		if r.errorCode() != "not_found" {
			t.Fatalf("missing user: %d %s", r.status, r.body)
		}
		checkCORS(t, r)
	})
	t.Run("gateway answers", func(t *testing.T) {
		r := do(t, "GET", s.RESTURL+"/v1/users/"+user, fromApp(map[string]string{}), nil)
		if r.errorCode() != "unauthorized" {
			t.Fatalf("no token: %d %s", r.status, r.body)
		}
		checkCORS(t, r)
		r = do(t, "GET", s.RESTURL+"/v1/nothing", fromApp(map[string]string{}), nil)
		if r.errorCode() != "route_not_found" {
			t.Fatalf("unknown route: %d %s", r.status, r.body)
		}
		checkCORS(t, r)
	})
}

// TestRESTEvent checks the proxy event the gateway builds and how it maps
// replies and failures, with the fixture function.
func TestRESTEvent(t *testing.T) {
	s := startStack(t, loadFixture(t), nil)

	t.Run("event fields", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.RESTURL+"/echo/a%20b?x=1&x=2&y=3", strings.NewReader(`{"k":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Multi", "one")
		req.Header.Add("X-Multi", "two")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ev events.APIGatewayProxyRequest
		if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
			t.Fatal(err)
		}
		rc := ev.RequestContext
		checks := map[string][2]any{
			"resource":     {ev.Resource, "/echo/{id}"},
			"path":         {ev.Path, "/echo/a b"},
			"method":       {ev.HTTPMethod, "POST"},
			"path param":   {ev.PathParameters["id"], "a b"},
			"query":        {ev.QueryStringParameters["x"], "2"},
			"multi query":  {strings.Join(ev.MultiValueQueryStringParameters["x"], ","), "1,2"},
			"header":       {ev.Headers["X-Multi"], "two"},
			"multi header": {strings.Join(ev.MultiValueHeaders["X-Multi"], ","), "one,two"},
			"body":         {ev.Body, `{"k":1}`},
			"base64":       {ev.IsBase64Encoded, false},
			"stage":        {rc.Stage, "test"},
			"resourcePath": {rc.ResourcePath, "/echo/{id}"},
			"ctx method":   {rc.HTTPMethod, "POST"},
			"source ip":    {rc.Identity.SourceIP, "127.0.0.1"},
			"request id":   {rc.RequestID, resp.Header.Get("x-amzn-RequestId")},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s = %v, want %v", name, c[0], c[1])
			}
		}
		if rc.RequestID == "" {
			t.Error("no request id")
		}
	})
	t.Run("binary body is base64", func(t *testing.T) {
		r := do(t, "POST", s.RESTURL+"/echo/x", map[string]string{"Content-Type": "application/octet-stream"}, bytes.NewReader([]byte{0, 1, 2, 255}))
		var ev events.APIGatewayProxyRequest
		json.Unmarshal(r.body, &ev)
		if !ev.IsBase64Encoded || ev.Body != "AAEC/w==" {
			t.Errorf("body %q base64 %v", ev.Body, ev.IsBase64Encoded)
		}
	})
	t.Run("static segment beats parameter", func(t *testing.T) {
		r := do(t, "GET", s.RESTURL+"/echo/static", nil, nil)
		if r.json["resource"] != "/echo/static" {
			t.Errorf("resource = %v", r.json["resource"])
		}
	})
	t.Run("greedy path", func(t *testing.T) {
		r := do(t, "GET", s.RESTURL+"/files/a/b/c.txt", nil, nil)
		pp, _ := r.json["pathParameters"].(map[string]any)
		if pp["path"] != "a/b/c.txt" {
			t.Errorf("pathParameters = %v", pp)
		}
	})
	tests := []struct {
		path   string
		status int
		code   string
	}{
		{"/panic", 502, "bad_gateway"},
		{"/malformed", 502, "bad_gateway"},
		{"/sleep", 504, "gateway_timeout"},
		{"/nope", 403, ""}, // no MISSING_AUTHENTICATION_TOKEN in the fixture: AWS's default 403
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := do(t, "GET", s.RESTURL+tc.path, nil, nil)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	t.Run("authorizer context reaches the function", func(t *testing.T) {
		r := do(t, "GET", s.RESTURL+"/secure/x", map[string]string{"Authorization": "allow"}, nil)
		var ev events.APIGatewayProxyRequest
		json.Unmarshal(r.body, &ev)
		a := ev.RequestContext.Authorizer
		if r.status != 200 || a["principalId"] != "tester" || a["who"] != "tester" || a["level"] != float64(3) || a["integrationLatency"] == nil {
			t.Fatalf("got %d, authorizer %v", r.status, a)
		}
	})
	authz := []struct {
		header string
		status int
		msg    string
	}{
		{"", 401, "Unauthorized"},
		{"unauthorized", 401, "Unauthorized"},
		{"deny", 403, "User is not authorized to access this resource"},
		{"other-method", 403, "User is not authorized to access this resource"},
		{"broken", 500, "Unauthorized"},
	}
	for _, tc := range authz {
		t.Run("authorizer says "+tc.header, func(t *testing.T) {
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			r := do(t, "GET", s.RESTURL+"/secure/x", h, nil)
			if r.status != tc.status || r.json["message"] != tc.msg {
				t.Fatalf("got %d %s, want %d %q", r.status, r.body, tc.status, tc.msg)
			}
		})
	}
	t.Run("panicked sandbox is replaced", func(t *testing.T) {
		if r := do(t, "GET", s.RESTURL+"/echo/after", nil, nil); r.status != 200 {
			t.Fatalf("after panic/timeout: %d %s", r.status, r.body)
		}
	})
	t.Run("binary reply and multi-value headers", func(t *testing.T) {
		r := do(t, "GET", s.RESTURL+"/binary", nil, nil)
		if !bytes.Equal(r.body, []byte{0, 1, 2, 255}) || r.header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("binary reply %v %v", r.body, r.header)
		}
		r = do(t, "GET", s.RESTURL+"/cookies", nil, nil)
		if r.status != 201 || strings.Join(r.header.Values("Set-Cookie"), ";") != "a=1;b=2" || r.header.Get("X-One") != "1" {
			t.Errorf("cookies reply %d %v", r.status, r.header)
		}
	})
}
