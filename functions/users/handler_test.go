package main

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env     *testenv.Env
	handler any
	audit   *memstore.Audit
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	env := testenv.Get(t)
	svc := users.NewService(env.Stores().Users, env.Cursors, nil)
	log := memstore.NewAudit()
	rec := audit.NewRecorder(log, 0, logging.NewTo(io.Discard, "users"), nil)
	return fixture{env: env, audit: log, handler: NewHandler(svc, rec, logging.NewTo(io.Discard, "users")).Handle}
}

func (f fixture) create(t *testing.T, id string) testenv.Reply {
	t.Helper()
	r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users",
		Body: `{"user_id":"` + id + `","nickname":"N","metadata":{"team":"blue"}}`, Principal: testenv.Admin()})
	if r.Status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", id, r.Status, r.Body)
	}
	return r
}

func one(method, id string) testenv.REST {
	return testenv.REST{Method: method, Resource: "/v1/users/{user_id}", Path: "/v1/users/" + id, PathParams: map[string]string{"user_id": id}}
}

// TestRoutesMatchTemplate reads template.yaml only: it provisions nothing.
func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(users.NewService(nil, nil, nil), nil, logging.NewTo(io.Discard, "users"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("UsersFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

func TestUserLifecycle(t *testing.T) {
	f := newFixture(t)
	id := testenv.ID("alice")
	created := f.create(t, id)
	if created.Headers["Location"] != "/v1/users/"+id || created.JSON["user_id"] != id {
		t.Fatalf("create reply %+v", created)
	}

	get := one("GET", id)
	get.Principal = testenv.User(id)
	if r := testenv.Call(t, f.handler, get); r.Status != 200 || r.JSON["nickname"] != "N" {
		t.Fatalf("get as self: %d %s", r.Status, r.Body)
	}

	upd := one("PATCH", id)
	upd.Principal = testenv.User(id)
	upd.Body = `{"nickname":"Alice","avatar_url":"https://example.com/a.png","metadata":null}`
	r := testenv.Call(t, f.handler, upd)
	if r.Status != 200 || r.JSON["nickname"] != "Alice" || r.JSON["metadata"] != nil || r.JSON["avatar_url"] != "https://example.com/a.png" {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}

	del := one("DELETE", id)
	del.Principal = testenv.Admin()
	if r := testenv.Call(t, f.handler, del); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	get.Principal = testenv.Admin()
	if r := testenv.Call(t, f.handler, get); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Fatalf("get after delete: %d %s", r.Status, r.Body)
	}
	if r := testenv.Call(t, f.handler, del); r.Status != 404 {
		t.Fatalf("second delete: %d %s", r.Status, r.Body)
	}
}

func TestCreateDuplicate(t *testing.T) {
	f := newFixture(t)
	id := testenv.ID("dup")
	f.create(t, id)
	r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users",
		Body: `{"user_id":"` + id + `","nickname":"other"}`, Principal: testenv.Admin()})
	if r.Status != 409 || r.ErrorCode() != "user_exists" {
		t.Fatalf("duplicate: %d %s", r.Status, r.Body)
	}
	get := one("GET", id)
	get.Principal = testenv.Admin()
	if r := testenv.Call(t, f.handler, get); r.JSON["nickname"] != "N" {
		t.Fatalf("duplicate create overwrote the user: %s", r.Body)
	}
}

func TestIdempotentCreate(t *testing.T) {
	f := newFixture(t)
	id := testenv.ID("idem")
	key := testenv.ID("key")
	call := func(body string) testenv.Reply {
		return testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users",
			Headers: map[string]string{"Idempotency-Key": key}, Body: body, Principal: testenv.Admin()})
	}
	body := `{"user_id":"` + id + `","nickname":"first"}`
	// Concurrent retries of the same call: all succeed with the same user.
	var wg sync.WaitGroup
	replies := make([]testenv.Reply, 5)
	for i := range replies {
		wg.Add(1)
		go func() { defer wg.Done(); replies[i] = call(body) }()
	}
	wg.Wait()
	fresh := 0
	for _, r := range replies {
		if r.Status != 201 || r.JSON["user_id"] != id || r.JSON["created_at"] != replies[0].JSON["created_at"] {
			t.Fatalf("retry: %d %s", r.Status, r.Body)
		}
		if r.Headers["Idempotent-Replayed"] == "" {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d replies claim to have created the user, want exactly 1", fresh)
	}
	if r := call(`{"user_id":"` + id + `","nickname":"changed"}`); r.Status != 409 || r.ErrorCode() != "idempotency_key_reused" {
		t.Fatalf("reuse with another body: %d %s", r.Status, r.Body)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	want := map[string]bool{}
	for i := 0; i < 7; i++ {
		id := testenv.ID("list")
		f.create(t, id)
		want[id] = true
	}
	seen := map[string]int{}
	cursor := ""
	for page := 0; page < 200; page++ {
		q := map[string]string{"limit": "3"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		r := testenv.Call(t, f.handler, testenv.REST{Method: "GET", Resource: "/v1/users", Path: "/v1/users", Query: q, Principal: testenv.Admin()})
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		list, _ := r.JSON["users"].([]any)
		if len(list) > 3 {
			t.Fatalf("page of %d > limit 3", len(list))
		}
		for _, u := range list {
			seen[u.(map[string]any)["user_id"].(string)]++
		}
		cursor, _ = r.JSON["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("user %s listed %d times", id, seen[id])
		}
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	existing := testenv.ID("bad")
	f.create(t, existing)
	post := func(body string, headers map[string]string) testenv.REST {
		return testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users", Body: body, Headers: headers, Principal: testenv.Admin()}
	}
	patch := func(body string) testenv.REST {
		r := one("PATCH", existing)
		r.Body, r.Principal = body, testenv.Admin()
		return r
	}
	tests := []struct {
		name   string
		req    testenv.REST
		status int
		code   string
	}{
		{"malformed json", post(`{"user_id":`, nil), 400, "invalid_json"},
		{"duplicate keys", post(`{"user_id":"x1","user_id":"x2"}`, nil), 400, "duplicate_key"},
		{"number beyond 2^53", post(`{"user_id":"x3","metadata":{"a":"b"},"nickname":"n","avatar_url":"https://a.b/c","extra":9007199254740993}`, nil), 400, "number_out_of_range"},
		{"wrong content type", post(`{"user_id":"x4"}`, map[string]string{"Content-Type": "text/plain"}), 415, "unsupported_media_type"},
		{"body too large", post(`{"user_id":"x5","nickname":"`+strings.Repeat("a", 70<<10)+`"}`, nil), 413, "payload_too_large"},
		{"unknown field", post(`{"user_id":"x6","role":"admin"}`, nil), 400, "unknown_field"},
		{"id with #", post(`{"user_id":"a#b"}`, nil), 400, "invalid_id"},
		{"id with :", post(`{"user_id":"a:b"}`, nil), 400, "invalid_id"},
		{"id with ../", post(`{"user_id":"../etc"}`, nil), 400, "invalid_id"},
		{"id with NUL", post(`{"user_id":"a\u0000b"}`, nil), 400, "invalid_id"},
		{"id 2 KB long", post(`{"user_id":"`+strings.Repeat("a", 2048)+`"}`, nil), 400, "invalid_id"},
		{"empty id", post(`{"user_id":""}`, nil), 400, "invalid_id"},
		{"bad avatar url", post(`{"user_id":"x7","avatar_url":"javascript:alert(1)"}`, nil), 400, "validation_failed"},
		{"update immutable user_id", patch(`{"user_id":"other"}`), 400, "immutable_field"},
		{"update immutable created_at", patch(`{"created_at":"2020-01-01T00:00:00Z"}`), 400, "immutable_field"},
		{"update unknown field", patch(`{"gen":1}`), 400, "unknown_field"},
		// Field names match exactly (issue 12, defect 5) and null is refused
		// where the field is not nullable (defect 6).
		{"case variant of user_id", post(`{"user_id":"x8","User_Id":"x9"}`, nil), 400, "unknown_field"},
		{"upper-case names", post(`{"USER_ID":"x10","NickName":"x"}`, nil), 400, "unknown_field"},
		{"null body", post(`null`, nil), 400, "validation_failed"},
		{"null nickname on create", post(`{"user_id":"x11","nickname":null}`, nil), 400, "validation_failed"},
		{"null metadata value", post(`{"user_id":"x12","metadata":{"k":null}}`, nil), 400, "validation_failed"},
		{"update null body", patch(`null`), 400, "validation_failed"},
		{"update case variant", patch(`{"Nickname":"x"}`), 400, "unknown_field"},
		{"bad cursor", testenv.REST{Method: "GET", Resource: "/v1/users", Path: "/v1/users", Query: map[string]string{"cursor": "eyJzIjoidXNlcnMifQ"}, Principal: testenv.Admin()}, 400, "invalid_cursor"},
		{"limit too large", testenv.REST{Method: "GET", Resource: "/v1/users", Path: "/v1/users", Query: map[string]string{"limit": "101"}, Principal: testenv.Admin()}, 400, "limit_out_of_range"},
		{"unknown route", testenv.REST{Method: "PUT", Resource: "/v1/users", Path: "/v1/users", Principal: testenv.Admin()}, 404, "route_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if r.JSON["error"].(map[string]any)["request_id"] == "" {
				t.Fatalf("error without request_id: %s", r.Body)
			}
		})
	}
	// Nothing was written by any of them.
	for _, id := range []string{"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12"} {
		g := one("GET", id)
		g.Principal = testenv.Admin()
		if r := testenv.Call(t, f.handler, g); r.Status != 404 {
			t.Errorf("bad input created user %s", id)
		}
	}
	g := one("GET", existing)
	g.Principal = testenv.Admin()
	if r := testenv.Call(t, f.handler, g); r.JSON["nickname"] != "N" || r.JSON["user_id"] != existing {
		t.Errorf("bad updates changed the user: %s", r.Body)
	}
}

// TestPermissions tries to break each rule.
func TestPermissions(t *testing.T) {
	f := newFixture(t)
	a, b := testenv.ID("pa"), testenv.ID("pb")
	f.create(t, a)
	f.create(t, b)
	asA := testenv.User(a)
	tests := []struct {
		name   string
		req    testenv.REST
		status int
		code   string
	}{
		{"A reads B", withP(one("GET", b), asA, ""), 403, "forbidden"},
		{"A updates B", withP(one("PATCH", b), asA, `{"nickname":"pwned"}`), 403, "forbidden"},
		{"A deletes B", withP(one("DELETE", b), asA, ""), 403, "forbidden"},
		{"user creates user", testenv.REST{Method: "POST", Resource: "/v1/users", Path: "/v1/users", Body: `{"user_id":"zz"}`, Principal: asA}, 403, "forbidden"},
		{"user lists users", testenv.REST{Method: "GET", Resource: "/v1/users", Path: "/v1/users", Principal: asA}, 403, "forbidden"},
		{"no principal", one("GET", a), 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	g := withP(one("GET", b), testenv.Admin(), "")
	if r := testenv.Call(t, f.handler, g); r.Status != 200 || r.JSON["nickname"] != "N" {
		t.Fatalf("B changed or vanished: %d %s", r.Status, r.Body)
	}
}

func withP(r testenv.REST, p *auth.Principal, body string) testenv.REST {
	r.Principal, r.Body = p, body
	return r
}
