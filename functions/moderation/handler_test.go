package main

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/realtime/realtimetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

type fixture struct {
	env   *testenv.Env
	db    testenv.Stores
	mod   moderation.Store
	auth  *auth.Service
	chat  *chat.Service
	users *users.Service
	gw    *realtimetest.Gateway
	rt    *realtime.Notifier
	h     any
	log   *memstore.Audit
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	mod := env.Moderation()
	gw := realtimetest.New(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	rt := realtime.NewNotifier(db.Connections, gw.Pusher(env.Cfg), nil, realtime.Config{}, log)
	book := permissions.NewRoleBook(mod, nil)
	cs := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{})
	svc := moderation.NewService(mod, book, ChatReader{Chat: cs}, nil)
	svc.OnBan(rt.CloseUser)
	alog := memstore.NewAudit() // the audit store's contract runs in shared/storetest
	return &fixture{env: env, db: db, mod: mod, chat: cs, users: users.NewService(db.Users, env.Cursors, nil), gw: gw, rt: rt,
		auth: auth.NewService(env.Tokens, db.Credentials, db.Users).WithStatus(mod, book), log: alog,
		h: NewHandler(svc, audit.NewRecorder(alog, 0, log, nil), log).Handle}
}

// principal is what the authorizer hands the handlers for a user's
// fresh token (role and grants resolved, a ban in the context).
func (f *fixture) principal(t *testing.T, id string) *auth.Principal {
	t.Helper()
	tok, err := f.auth.IssueUserToken(ctx, *testenv.Admin(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.auth.Authenticate(ctx, "Bearer "+tok.Token)
	if err != nil && !apierror.Is(err, apierror.Banned) {
		t.Fatal(err)
	}
	q, _ := auth.FromContextFields(p.ContextFields())
	return &q
}

func (f *fixture) call(t *testing.T, method, resource string, params map[string]string, body string, p *auth.Principal) testenv.Reply {
	t.Helper()
	path := resource
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return testenv.Call(t, f.h, testenv.REST{Method: method, Resource: resource, Path: path, PathParams: params, Body: body, Principal: p})
}

func moderator() *auth.Principal {
	return &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_mod", Scopes: auth.Scopes{auth.ScopeModerationRead, auth.ScopeModerationWrite}}
}

func want(t *testing.T, r testenv.Reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if got, want := h.Routes(), tmpl.RestRoutesOf("ModerationFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

// TestBanClosesSocketsAndRefusesTokens: a ban refuses the user's tokens
// from the next request (403 banned, with the reason) and closes their
// open sockets; an unban restores the same token.
func TestBanClosesSocketsAndRefusesTokens(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "ban", 2)
	a := ids[0]
	tok, err := f.auth.IssueUserToken(ctx, *testenv.Admin(), a, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"conn-a1", "conn-a2"} {
		if err := f.db.Connections.PutConnection(ctx, realtime.NewConnection(a, c, time.Now())); err != nil {
			t.Fatal(err)
		}
		f.gw.Open(c)
	}
	params := map[string]string{"user_id": a}
	r := f.call(t, "PUT", "/v1/users/{user_id}/ban", params, `{"reason":"spam","expires_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`, moderator())
	want(t, r, 200, "")
	if r.JSON["reason"] != "spam" || r.JSON["banned_by"] != "credential:tk_mod" || r.JSON["expires_at"] == nil {
		t.Fatalf("ban body %s", r.Body)
	}
	if closed := f.gw.Closed(); !slices.Contains(closed, "conn-a1") || !slices.Contains(closed, "conn-a2") {
		t.Fatalf("sockets closed: %v", closed)
	}
	if left, _ := f.db.Connections.UserConnections(ctx, a, time.Now()); len(left) != 0 {
		t.Fatalf("connection records left: %+v", left)
	}
	p, err := f.auth.Authenticate(ctx, "Bearer "+tok.Token)
	if !apierror.Is(err, apierror.Banned) {
		t.Fatalf("a banned user's token: %v", err)
	}
	// The authorizer passes the ban on; any handler then answers 403 banned.
	r = testenv.Call(t, f.h, testenv.REST{Method: "GET", Resource: "/v1/users/{user_id}/blocks", Path: "/v1/users/" + a + "/blocks",
		PathParams: params, Principal: &p})
	want(t, r, 403, "banned")
	if d := r.JSON["error"].(map[string]any)["details"].(map[string]any); d["reason"] != "spam" || d["expires_at"] == nil {
		t.Fatalf("banned details %v", d)
	}
	want(t, f.call(t, "DELETE", "/v1/users/{user_id}/ban", params, "", moderator()), 204, "")
	if _, err := f.auth.Authenticate(ctx, "Bearer "+tok.Token); err != nil {
		t.Fatalf("after unban: %v", err)
	}
}

// TestBanRefused: bad input and moderators outside their rights; nothing
// is written on a refusal.
func TestBanRefused(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "banr", 3)
	mod, mod2, u := ids[0], ids[1], ids[2]
	for _, id := range []string{mod, mod2} {
		want(t, f.call(t, "PUT", "/v1/users/{user_id}/role", map[string]string{"user_id": id}, `{"role":"moderator"}`, moderator()), 200, "")
	}
	modP := f.principal(t, mod)
	if !slices.Contains(modP.Grants, permissions.GrantBan) || modP.Role != "moderator" {
		t.Fatalf("moderator principal %+v", modP)
	}
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, target, body string
		p                  *auth.Principal
		status             int
		code               string
	}{
		{"no reason", u, `{}`, moderator(), 400, "validation_failed"},
		{"blank reason", u, `{"reason":"  "}`, moderator(), 400, "validation_failed"},
		{"long reason", u, `{"reason":"` + strings.Repeat("x", 501) + `"}`, moderator(), 400, "validation_failed"},
		{"expiry in the past", u, `{"reason":"x","expires_at":"2020-01-01T00:00:00Z"}`, moderator(), 400, "validation_failed"},
		{"expiry beyond 10 years", u, `{"reason":"x","expires_at":"2099-01-01T00:00:00Z"}`, moderator(), 400, "validation_failed"},
		{"unknown field", u, `{"reason":"x","why":"y"}`, moderator(), 400, "unknown_field"},
		{"malformed user id", "a#b", `{"reason":"x"}`, moderator(), 400, "invalid_id"},
		{"unknown user", "nobody-" + u, `{"reason":"x"}`, moderator(), 404, "not_found"},
		{"plain user", u, `{"reason":"x"}`, &auth.Principal{Kind: auth.KindUser, UserID: u + "x", Grants: []string{permissions.GrantCreateGroups}}, 403, "forbidden"},
		{"moderator bans a moderator", mod2, `{"reason":"x","expires_at":"` + soon + `"}`, modP, 403, "forbidden"},
		{"moderator bans themselves", mod, `{"reason":"x"}`, modP, 403, "forbidden"},
		{"admin token without moderation:write", u, `{"reason":"x"}`, &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_r", Scopes: auth.Scopes{auth.ScopeModerationRead}}, 403, "scope_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want(t, f.call(t, "PUT", "/v1/users/{user_id}/ban", map[string]string{"user_id": tc.target}, tc.body, tc.p), tc.status, tc.code)
			for _, id := range ids {
				if st, _ := f.mod.UserStatus(ctx, id); st.Ban != nil {
					t.Fatalf("a refused ban wrote one on %s: %+v", id, st.Ban)
				}
			}
		})
	}
	// A moderator may ban a plain user.
	want(t, f.call(t, "PUT", "/v1/users/{user_id}/ban", map[string]string{"user_id": u}, `{"reason":"x"}`, modP), 200, "")
}

// TestBlocklist: a user manages their own list only; bad input is refused.
func TestBlocklist(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "bl", 3)
	a, b, c := ids[0], ids[1], ids[2]
	pa := f.principal(t, a)
	block := func(owner, blocked string, p *auth.Principal) testenv.Reply {
		return f.call(t, "PUT", "/v1/users/{user_id}/blocks/{blocked_id}", map[string]string{"user_id": owner, "blocked_id": blocked}, "", p)
	}
	want(t, block(a, b, pa), 200, "")
	want(t, block(a, b, pa), 200, "") // idempotent
	want(t, block(a, c, pa), 200, "")
	want(t, block(b, a, pa), 403, "forbidden")
	want(t, block(a, a, pa), 400, "validation_failed")
	want(t, block(a, "nobody-"+a, pa), 404, "not_found")
	want(t, block(a, "x#y", pa), 400, "invalid_id")
	r := f.call(t, "GET", "/v1/users/{user_id}/blocks", map[string]string{"user_id": a}, "", pa)
	want(t, r, 200, "")
	if got := r.JSON["blocks"].([]any); len(got) != 2 {
		t.Fatalf("blocks %s", r.Body)
	}
	want(t, f.call(t, "GET", "/v1/users/{user_id}/blocks", map[string]string{"user_id": a}, "", f.principal(t, b)), 403, "forbidden")
	want(t, f.call(t, "GET", "/v1/users/{user_id}/blocks", map[string]string{"user_id": a}, "", moderator()), 200, "")
	del := map[string]string{"user_id": a, "blocked_id": b}
	want(t, f.call(t, "DELETE", "/v1/users/{user_id}/blocks/{blocked_id}", del, "", pa), 204, "")
	want(t, f.call(t, "DELETE", "/v1/users/{user_id}/blocks/{blocked_id}", del, "", pa), 404, "not_found")
	if ok, _ := f.mod.IsBlocked(ctx, a, b); ok {
		t.Fatal("still blocked")
	}
}

// TestWordFilterRoutes: set and read; oversized and malformed lists are
// refused and the filter stays as it was; the manage_words grant opens it
// to a user's role.
func TestWordFilterRoutes(t *testing.T) {
	f := newFixture(t)
	put := func(body string, p *auth.Principal) testenv.Reply {
		return f.call(t, "PUT", "/v1/moderation/word-filter", nil, body, p)
	}
	want(t, put(`{"action":"mask","words":["darn","heck"]}`, moderator()), 200, "")
	many := `"` + strings.Repeat(`w","`, moderation.MaxWords) + `w"`
	for _, body := range []string{
		`{"action":"mask","words":[` + many + `]}`,
		`{"action":"shout","words":["x"]}`,
		`{"action":"mask","words":[""]}`,
		`{"action":"mask","words":["darn","DARN"]}`,
		`{"action":"mask","words":"darn"}`,
		`{"action":"mask"}`, // absent words never wipe the list (found by the contract test)
	} {
		if r := put(body, moderator()); r.Status != 400 {
			t.Errorf("%.60s: %d %s", body, r.Status, r.Body)
		}
	}
	r := f.call(t, "GET", "/v1/moderation/word-filter", nil, "", moderator())
	if r.Status != 200 || !reflect.DeepEqual(r.JSON["words"], []any{"darn", "heck"}) {
		t.Fatalf("after refused puts: %s", r.Body)
	}
	ids := testenv.NewUsers(t, f.users, "wf", 1)
	want(t, f.call(t, "PUT", "/v1/roles/{role}", map[string]string{"role": "wordsmith"}, `{"grants":["manage_words"]}`, moderator()), 200, "")
	plain := f.principal(t, ids[0])
	want(t, put(`{"action":"reject","words":["x"]}`, plain), 403, "forbidden")
	want(t, f.call(t, "PUT", "/v1/users/{user_id}/role", map[string]string{"user_id": ids[0]}, `{"role":"wordsmith"}`, moderator()), 200, "")
	want(t, put(`{"action":"reject","words":["x"]}`, f.principal(t, ids[0])), 200, "")
}

// TestRoles: define, list, assign, delete; malformed roles are refused.
func TestRoles(t *testing.T) {
	f := newFixture(t)
	role := func(name, body string) testenv.Reply {
		return f.call(t, "PUT", "/v1/roles/{role}", map[string]string{"role": name}, body, moderator())
	}
	want(t, role("helper", `{"grants":["read_reports"]}`), 200, "")
	for name, body := range map[string]string{
		"Helper":                      `{"grants":[]}`,
		"moderator":                   `{"grants":[]}`,
		"user":                        `{"grants":["ban"]}`,
		"x" + strings.Repeat("y", 40): `{"grants":[]}`,
		"helper2":                     `{"grants":["fly"]}`,
		"helper3":                     `{"grants":["ban","ban"]}`,
		"helper4":                     `{}`, // grants absent (found by the contract test)
	} {
		if r := role(name, body); r.Status != 400 || r.ErrorCode() != "validation_failed" {
			t.Errorf("role %q %s: %d %s", name, body, r.Status, r.Body)
		}
	}
	r := f.call(t, "GET", "/v1/roles", nil, "", moderator())
	var names []string
	for _, x := range r.JSON["roles"].([]any) {
		names = append(names, x.(map[string]any)["name"].(string))
	}
	if i := slices.Index(names, "helper"); i < 0 || !slices.Contains(names, "moderator") || !slices.Contains(names, "user") || !slices.IsSorted(names) {
		t.Fatalf("roles %v", names)
	}
	ids := testenv.NewUsers(t, f.users, "rl", 1)
	set := func(role string) testenv.Reply {
		return f.call(t, "PUT", "/v1/users/{user_id}/role", map[string]string{"user_id": ids[0]}, `{"role":"`+role+`"}`, moderator())
	}
	want(t, set("nope"), 400, "validation_failed")
	want(t, set("helper"), 200, "")
	if p := f.principal(t, ids[0]); p.Role != "helper" || !slices.Equal(p.Grants, []string{"read_reports"}) {
		t.Fatalf("helper principal %+v", p)
	}
	want(t, f.call(t, "PUT", "/v1/users/{user_id}/role", map[string]string{"user_id": "nobody-" + ids[0]}, `{"role":"helper"}`, moderator()), 404, "not_found")
	want(t, f.call(t, "DELETE", "/v1/roles/{role}", map[string]string{"role": "helper"}, "", moderator()), 204, "")
	want(t, f.call(t, "DELETE", "/v1/roles/{role}", map[string]string{"role": "moderator"}, "", moderator()), 400, "validation_failed")
	// The deleted role's holder falls back to the user role (after the book's TTL
	// in other sandboxes; this one forgot it at once).
	if p := f.principal(t, ids[0]); !slices.Equal(p.Grants, permissions.BuiltinRoles[permissions.RoleUser]) {
		t.Fatalf("after delete: %+v", p)
	}
	want(t, set("user"), 200, "")
	if st, _ := f.mod.UserStatus(ctx, ids[0]); st.Role != "" {
		t.Fatalf("role user stored as %q", st.Role)
	}
}

// TestReports: a member reports a message with a snapshot; a stranger
// cannot report what they cannot read; moderators list and resolve.
func TestReports(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "rp", 4)
	a, b, stranger, mod := ids[0], ids[1], ids[2], ids[3]
	m, _, err := f.chat.Send(ctx, *testenv.User(a), chat.SendInput{ToUser: b, Text: "rude words"})
	if err != nil {
		t.Fatal(err)
	}
	conv := string(chat.DMID(a, b))
	body := `{"conversation_id":"` + conv + `","seq":` + itoa(m.Seq) + `,"reason":"harassment"}`
	r := f.call(t, "POST", "/v1/reports", nil, body, f.principal(t, b))
	want(t, r, 201, "")
	id := r.JSON["report_id"].(string)
	if r.JSON["status"] != "open" || r.JSON["text"] != nil {
		t.Fatalf("report %s", r.Body)
	}
	want(t, f.call(t, "POST", "/v1/reports", nil, body, f.principal(t, stranger)), 404, "not_found")
	want(t, f.call(t, "POST", "/v1/reports", nil, `{"conversation_id":"`+conv+`","seq":99,"reason":"x"}`, f.principal(t, b)), 400, "seq_out_of_range")
	want(t, f.call(t, "POST", "/v1/reports", nil, `{"conversation_id":"`+conv+`","seq":1,"reason":""}`, f.principal(t, b)), 400, "validation_failed")
	want(t, f.call(t, "POST", "/v1/reports", nil, body, moderator()), 403, "forbidden")

	want(t, f.call(t, "GET", "/v1/reports", nil, "", f.principal(t, b)), 403, "forbidden")
	want(t, f.call(t, "PUT", "/v1/users/{user_id}/role", map[string]string{"user_id": mod}, `{"role":"moderator"}`, moderator()), 200, "")
	pm := f.principal(t, mod)
	r = f.call(t, "GET", "/v1/reports", nil, "", pm)
	want(t, r, 200, "")
	// Other tests file reports in the same store: look at this one.
	find := func(r testenv.Reply) map[string]any {
		for _, x := range r.JSON["reports"].([]any) {
			if x.(map[string]any)["report_id"] == id {
				return x.(map[string]any)
			}
		}
		return nil
	}
	if got := find(r); got == nil || got["text"] != "rude words" || got["sender_id"] != a {
		t.Fatalf("reports %s", r.Body)
	}
	res := map[string]string{"report_id": id}
	want(t, f.call(t, "POST", "/v1/reports/{report_id}/resolve", res, `{"resolution":"warned"}`, pm), 200, "")
	want(t, f.call(t, "POST", "/v1/reports/{report_id}/resolve", res, `{"resolution":"again"}`, moderator()), 409, "conflict")
	want(t, f.call(t, "POST", "/v1/reports/{report_id}/resolve", map[string]string{"report_id": "rp_000000000000deadbeef"}, `{"resolution":"x"}`, pm), 404, "not_found")
	want(t, f.call(t, "POST", "/v1/reports/{report_id}/resolve", map[string]string{"report_id": "nope"}, `{"resolution":"x"}`, pm), 400, "invalid_id")
	r = f.call(t, "GET", "/v1/reports", nil, "", moderator())
	if got := find(r); got == nil || got["status"] != "resolved" || got["resolved_by"] != "user:"+mod {
		t.Fatalf("after resolve: %s", r.Body)
	}
	testQuery := testenv.REST{Method: "GET", Resource: "/v1/reports", Path: "/v1/reports", Query: map[string]string{"status": "open"}, Principal: moderator()}
	if r := testenv.Call(t, f.h, testQuery); r.Status != 200 || find(r) != nil {
		t.Fatalf("open reports after resolve: %s", r.Body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
