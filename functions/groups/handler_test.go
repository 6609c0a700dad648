package main

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env     *testenv.Env
	svc     *chat.Service
	handler any
	audit   *memstore.Audit
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	env := testenv.Get(t)
	alog := memstore.NewAudit()
	svc := chat.NewService(env.Stores().Chat, env.Cursors, chat.Config{MaxGroupMembers: 5},
		chat.Options{Audit: audit.NewRecorder(alog, 0, logging.NewTo(io.Discard, "groups"), nil)})
	return fixture{env: env, svc: svc, audit: alog, handler: NewHandler(svc, logging.NewTo(io.Discard, "groups")).Handle}
}

func (f fixture) users(t *testing.T, n int) []string {
	t.Helper()
	us := users.NewService(f.env.Stores().Users, f.env.Cursors, nil)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = testenv.ID("u")
		if _, _, err := us.Create(context.Background(), *testenv.Admin(), users.CreateInput{UserID: ids[i]}, ""); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func call(t *testing.T, f fixture, p *auth.Principal, method, resource string, params map[string]string, body string) testenv.Reply {
	t.Helper()
	path := resource
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return testenv.Call(t, f.handler, testenv.REST{Method: method, Resource: resource, Path: path, PathParams: params, Body: body, Principal: p})
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(chat.NewService(nil, nil, chat.Config{}, chat.Options{}), logging.NewTo(io.Discard, "groups"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("GroupsFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

func TestGroupLifecycle(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 3)
	owner := testenv.User(u[0])
	gid := testenv.ID("grp")
	r := call(t, f, owner, "POST", "/v1/groups", nil, `{"group_id":"`+gid+`","name":"Team","members":["`+u[1]+`","`+u[1]+`"],"metadata":{"k":"v"}}`)
	if r.Status != 201 || r.JSON["owner_id"] != u[0] || r.JSON["member_count"] != float64(2) || r.JSON["conversation_id"] != "g:"+gid {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	g := map[string]string{"group_id": gid}
	if r := call(t, f, owner, "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":["`+u[1]+`","`+u[2]+`"]}`); r.Status != 200 ||
		len(r.JSON["added"].([]any)) != 1 || len(r.JSON["already_members"].([]any)) != 1 {
		t.Fatalf("add (one twice): %d %s", r.Status, r.Body)
	}
	m := map[string]string{"group_id": gid, "user_id": u[1]}
	if r := call(t, f, owner, "PATCH", "/v1/groups/{group_id}/members/{user_id}", m, `{"role":"admin","muted":true}`); r.Status != 200 || r.JSON["role"] != "admin" || r.JSON["muted"] != true {
		t.Fatalf("update member: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, owner, "POST", "/v1/groups/{group_id}/transfer", g, `{"user_id":"`+u[2]+`"}`); r.Status != 200 || r.JSON["owner_id"] != u[2] {
		t.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, owner, "PATCH", "/v1/groups/{group_id}", g, `{"name":"Renamed","metadata":null}`); r.Status != 200 || r.JSON["name"] != "Renamed" || r.JSON["metadata"] != nil {
		t.Fatalf("update by the old owner, now admin: %d %s", r.Status, r.Body)
	}
	seen := map[string]string{}
	cursor := ""
	for i := 0; i < 10; i++ {
		req := testenv.REST{Method: "GET", Resource: "/v1/groups/{group_id}/members", Path: "/v1/groups/" + gid + "/members", PathParams: g,
			Query: map[string]string{"limit": "2", "cursor": cursor}, Principal: owner}
		r := testenv.Call(t, f.handler, req)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		for _, x := range r.JSON["members"].([]any) {
			mm := x.(map[string]any)
			seen[mm["user_id"].(string)] = mm["role"].(string)
		}
		if cursor, _ = r.JSON["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if want := map[string]string{u[0]: "admin", u[1]: "admin", u[2]: "owner"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("members %v, want %v", seen, want)
	}
	if r := call(t, f, owner, "DELETE", "/v1/groups/{group_id}/members/{user_id}", map[string]string{"group_id": gid, "user_id": u[0]}, ""); r.Status != 204 {
		t.Fatalf("leave: %d %s", r.Status, r.Body)
	}
	newOwner := testenv.User(u[2])
	if r := call(t, f, newOwner, "DELETE", "/v1/groups/{group_id}", g, ""); r.Status != 204 {
		t.Fatalf("dissolve: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, newOwner, "GET", "/v1/groups/{group_id}", g, ""); r.Status != 404 {
		t.Fatalf("get after dissolve: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, testenv.User(u[1]), "POST", "/v1/groups", nil, `{"group_id":"`+gid+`"}`); r.Status != 409 || r.ErrorCode() != "group_exists" {
		t.Fatalf("reusing a dissolved group's id: %d %s", r.Status, r.Body)
	}
}

func TestAdminCreatesOnBehalf(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	key := testenv.ID("key")
	body := `{"owner_id":"` + u[0] + `","members":["` + u[1] + `"],"name":"Ops"}`
	var first testenv.Reply
	for i := 0; i < 2; i++ {
		r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/groups", Path: "/v1/groups", Body: body,
			Headers: map[string]string{"Idempotency-Key": key}, Principal: testenv.Admin()})
		if r.Status != 201 || r.JSON["owner_id"] != u[0] {
			t.Fatalf("admin create %d: %d %s", i, r.Status, r.Body)
		}
		if i == 0 {
			first = r
		} else if r.JSON["group_id"] != first.JSON["group_id"] || r.Headers["Idempotent-Replayed"] != "true" {
			t.Fatalf("retry made another group: %s vs %s", r.Body, first.Body)
		}
	}
}

// TestBadInput: every bad request gets its documented code and changes nothing.
// TestBadIdempotencyKey: a key that is sent must be valid, an empty one
// included (it is not taken as "no key"), and a refused create writes
// nothing.
func TestBadIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 1)
	for _, key := range []string{"", "has space", strings.Repeat("k", 256)} {
		gid := testenv.ID("idem")
		r := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/groups", Path: "/v1/groups",
			Body: `{"group_id":"` + gid + `","owner_id":"` + u[0] + `"}`, Headers: map[string]string{"Idempotency-Key": key}, Principal: testenv.Admin()})
		if r.Status != 400 || r.ErrorCode() != "validation_failed" {
			t.Fatalf("key %q: %d %s, want 400 validation_failed", key, r.Status, r.Body)
		}
		if g := call(t, f, testenv.Admin(), "GET", "/v1/groups/{group_id}", map[string]string{"group_id": gid}, ""); g.Status != 404 {
			t.Fatalf("key %q: the refused create made group %s: %d", key, gid, g.Status)
		}
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 6)
	owner := testenv.User(u[0])
	gid := testenv.ID("bad")
	if r := call(t, f, owner, "POST", "/v1/groups", nil, `{"group_id":"`+gid+`","members":["`+u[1]+`"]}`); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	g := map[string]string{"group_id": gid}
	mem := func(uid string) map[string]string { return map[string]string{"group_id": gid, "user_id": uid} }
	tests := []struct {
		name, method, resource string
		params                 map[string]string
		body                   string
		status                 int
		code                   string
	}{
		{"bad group id", "POST", "/v1/groups", nil, `{"group_id":"a:b"}`, 400, "invalid_id"},
		{"existing group id", "POST", "/v1/groups", nil, `{"group_id":"` + gid + `"}`, 409, "group_exists"},
		{"unknown initial member", "POST", "/v1/groups", nil, `{"group_id":"x-` + gid + `","members":["nobody-` + gid + `"]}`, 404, "not_found"},
		{"too many initial members", "POST", "/v1/groups", nil, `{"group_id":"y-` + gid + `","members":["` + strings.Join(u[1:], `","`) + `"]}`, 400, "member_limit"},
		{"name too long", "POST", "/v1/groups", nil, `{"group_id":"z-` + gid + `","name":"` + strings.Repeat("n", 129) + `"}`, 400, "validation_failed"},
		{"unknown field", "POST", "/v1/groups", nil, `{"group_id":"w-` + gid + `","color":"red"}`, 400, "unknown_field"},
		{"unknown group", "GET", "/v1/groups/{group_id}", map[string]string{"group_id": "nope-" + gid}, "", 404, "not_found"},
		{"add a non-existent user", "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":["ghost-` + gid + `"]}`, 404, "not_found"},
		{"add nobody", "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":[]}`, 400, "validation_failed"},
		{"add up to the cap, owner again", "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":["` + strings.Join(u[2:5], `","`) + `","` + u[0] + `"]}`, 200, ""},
		{"add beyond the cap", "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":["` + u[5] + `"]}`, 400, "member_limit"},
		{"remove the owner", "DELETE", "/v1/groups/{group_id}/members/{user_id}", mem(u[0]), "", 400, "last_owner"},
		{"demote the owner", "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(u[0]), `{"role":"member"}`, 400, "last_owner"},
		{"bad role", "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(u[1]), `{"role":"king"}`, 400, "validation_failed"},
		{"remove a non-member", "DELETE", "/v1/groups/{group_id}/members/{user_id}", mem("stranger"), "", 404, "not_found"},
		{"transfer to a non-member", "POST", "/v1/groups/{group_id}/transfer", g, `{"user_id":"stranger"}`, 404, "not_found"},
		{"members limit too large", "GET", "/v1/groups/{group_id}/members", g, "", 400, "limit_out_of_range"},
		{"immutable owner_id", "PATCH", "/v1/groups/{group_id}", g, `{"owner_id":"` + u[1] + `"}`, 400, "immutable_field"},
		// Issue 12, defects 5 and 6.
		{"null body", "POST", "/v1/groups", nil, `null`, 400, "validation_failed"},
		{"null name on create", "POST", "/v1/groups", nil, `{"group_id":"n-` + gid + `","name":null}`, 400, "validation_failed"},
		{"case variant", "POST", "/v1/groups", nil, `{"group_id":"c-` + gid + `","Name":"x"}`, 400, "unknown_field"},
		{"update null body", "PATCH", "/v1/groups/{group_id}", g, `null`, 400, "validation_failed"},
		{"null role", "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(u[1]), `{"role":null}`, 400, "validation_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := testenv.REST{Method: tc.method, Resource: tc.resource, Path: tc.resource, PathParams: tc.params, Body: tc.body, Principal: owner}
			if tc.name == "members limit too large" {
				req.Query = map[string]string{"limit": "101"}
			}
			r := testenv.Call(t, f.handler, req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	// Four more would make 6 > 5: the cap holds and nothing was added.
	r := call(t, f, owner, "GET", "/v1/groups/{group_id}", g, "")
	if r.JSON["member_count"] != float64(5) || r.JSON["owner_id"] != u[0] {
		t.Fatalf("group after bad input: %s", r.Body)
	}
	over := f.users(t, 1)[0]
	if r := call(t, f, owner, "POST", "/v1/groups/{group_id}/members", g, `{"user_ids":["`+over+`"]}`); r.Status != 400 || r.ErrorCode() != "member_limit" {
		t.Fatalf("add beyond the cap: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{"x-" + gid, "y-" + gid, "z-" + gid, "w-" + gid, "n-" + gid, "c-" + gid} {
		if r := call(t, f, testenv.Admin(), "GET", "/v1/groups/{group_id}", map[string]string{"group_id": id}, ""); r.Status != 404 {
			t.Errorf("bad input created group %s", id)
		}
	}
}

// TestPermissions tries to break each group rule.
func TestPermissions(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 5)
	ownerID, adminID, memberID, member2ID, outsiderID := u[0], u[1], u[2], u[3], u[4]
	gid := testenv.ID("perm")
	if r := call(t, f, testenv.User(ownerID), "POST", "/v1/groups", nil, `{"group_id":"`+gid+`","members":["`+adminID+`","`+memberID+`","`+member2ID+`"]}`); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	g := map[string]string{"group_id": gid}
	mem := func(uid string) map[string]string { return map[string]string{"group_id": gid, "user_id": uid} }
	if r := call(t, f, testenv.User(ownerID), "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(adminID), `{"role":"admin"}`); r.Status != 200 {
		t.Fatalf("promote: %d %s", r.Status, r.Body)
	}
	admin, member, outsider := testenv.User(adminID), testenv.User(memberID), testenv.User(outsiderID)
	tests := []struct {
		name, method, resource string
		p                      *auth.Principal
		params                 map[string]string
		body                   string
		status                 int
		code                   string
	}{
		{"outsider reads the group", "GET", "/v1/groups/{group_id}", outsider, g, "", 404, "not_found"},
		{"outsider lists members", "GET", "/v1/groups/{group_id}/members", outsider, g, "", 404, "not_found"},
		{"outsider adds itself", "POST", "/v1/groups/{group_id}/members", outsider, g, `{"user_ids":["` + outsiderID + `"]}`, 404, "not_found"},
		{"member adds", "POST", "/v1/groups/{group_id}/members", member, g, `{"user_ids":["` + outsiderID + `"]}`, 403, "forbidden"},
		{"member removes another", "DELETE", "/v1/groups/{group_id}/members/{user_id}", member, mem(member2ID), "", 403, "forbidden"},
		{"member mutes", "PATCH", "/v1/groups/{group_id}/members/{user_id}", member, mem(member2ID), `{"muted":true}`, 403, "forbidden"},
		{"member promotes itself", "PATCH", "/v1/groups/{group_id}/members/{user_id}", member, mem(memberID), `{"role":"admin"}`, 403, "forbidden"},
		{"member renames", "PATCH", "/v1/groups/{group_id}", member, g, `{"name":"x"}`, 403, "forbidden"},
		{"admin removes the owner", "DELETE", "/v1/groups/{group_id}/members/{user_id}", admin, mem(ownerID), "", 400, "last_owner"},
		{"admin mutes the owner", "PATCH", "/v1/groups/{group_id}/members/{user_id}", admin, mem(ownerID), `{"muted":true}`, 403, "forbidden"},
		{"admin changes a role", "PATCH", "/v1/groups/{group_id}/members/{user_id}", admin, mem(memberID), `{"role":"admin"}`, 403, "forbidden"},
		{"admin transfers", "POST", "/v1/groups/{group_id}/transfer", admin, g, `{"user_id":"` + adminID + `"}`, 403, "forbidden"},
		{"admin dissolves", "DELETE", "/v1/groups/{group_id}", admin, g, "", 403, "forbidden"},
		{"member dissolves", "DELETE", "/v1/groups/{group_id}", member, g, "", 403, "forbidden"},
		{"user creates for another owner", "POST", "/v1/groups", member, nil, `{"owner_id":"` + ownerID + `"}`, 403, "forbidden"},
		{"admin token without owner", "POST", "/v1/groups", testenv.Admin(), nil, `{}`, 400, "validation_failed"},
		{"no principal", "GET", "/v1/groups/{group_id}", nil, g, "", 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := call(t, f, tc.p, tc.method, tc.resource, tc.params, tc.body); r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	// An admin needs another admin removed: forbidden; a second admin is made first.
	call(t, f, testenv.User(ownerID), "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(member2ID), `{"role":"admin"}`)
	if r := call(t, f, admin, "DELETE", "/v1/groups/{group_id}/members/{user_id}", mem(member2ID), ""); r.Status != 403 {
		t.Fatalf("admin removed another admin: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, admin, "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(member2ID), `{"muted":true}`); r.Status != 403 {
		t.Fatalf("admin muted another admin: %d %s", r.Status, r.Body)
	}
	// What the rules allow still works: an admin mutes and removes a plain member; an admin token does anything.
	if r := call(t, f, admin, "PATCH", "/v1/groups/{group_id}/members/{user_id}", mem(memberID), `{"muted":true}`); r.Status != 200 {
		t.Fatalf("admin mutes member: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, admin, "DELETE", "/v1/groups/{group_id}/members/{user_id}", mem(memberID), ""); r.Status != 204 {
		t.Fatalf("admin removes member: %d %s", r.Status, r.Body)
	}
	if r := call(t, f, testenv.Admin(), "POST", "/v1/groups/{group_id}/transfer", g, `{"user_id":"`+adminID+`"}`); r.Status != 200 || r.JSON["owner_id"] != adminID {
		t.Fatalf("admin token transfers: %d %s", r.Status, r.Body)
	}
	r := call(t, f, testenv.Admin(), "GET", "/v1/groups/{group_id}", g, "")
	if r.Status != http.StatusOK || r.JSON["member_count"] != float64(3) {
		t.Fatalf("group after permission tests: %s", r.Body)
	}
}
