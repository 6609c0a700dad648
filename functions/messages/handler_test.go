package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

type fixture struct {
	env     *testenv.Env
	svc     *chat.Service
	handler any
	clock   *time.Time
	audit   *memstore.Audit
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	env := testenv.Get(t)
	now := time.Now()
	clock := &now
	alog := memstore.NewAudit()
	svc := chat.NewService(env.Stores().Chat, env.Cursors, chat.Config{}, chat.Options{Now: func() time.Time { return *clock },
		Audit: audit.NewRecorder(alog, 0, logging.NewTo(io.Discard, "messages"), nil)})
	return fixture{env: env, svc: svc, clock: clock, audit: alog, handler: NewHandler(svc, logging.NewTo(io.Discard, "messages")).Handle}
}

func (f fixture) users(t *testing.T, n int) []string {
	t.Helper()
	us := users.NewService(f.env.Stores().Users, f.env.Cursors, nil)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = testenv.ID("u")
		if _, _, err := us.Create(ctx, *testenv.Admin(), users.CreateInput{UserID: ids[i]}, ""); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

type req struct {
	method, resource string
	params           map[string]string
	query            map[string]string
	body             string
}

func send(body string) req { return req{method: "POST", resource: "/v1/messages", body: body} }
func conv(method, suffix, id string, query map[string]string, body string) req {
	return req{method: method, resource: "/v1/conversations/{conversation_id}" + suffix, params: map[string]string{"conversation_id": id}, query: query, body: body}
}
func msg(method, suffix, id, seq, body string) req {
	return req{method: method, resource: "/v1/conversations/{conversation_id}/messages/{seq}" + suffix,
		params: map[string]string{"conversation_id": id, "seq": seq}, body: body}
}

func (f fixture) call(t *testing.T, p *auth.Principal, r req) testenv.Reply {
	t.Helper()
	path := r.resource
	for k, v := range r.params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return testenv.Call(t, f.handler, testenv.REST{Method: r.method, Resource: r.resource, Path: path, PathParams: r.params, Query: r.query, Body: r.body, Principal: p})
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(chat.NewService(nil, nil, chat.Config{}, chat.Options{}), logging.NewTo(io.Discard, "messages"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("MessagesFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

func TestDMFlow(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	a, b := testenv.User(u[0]), testenv.User(u[1])
	r := f.call(t, a, send(`{"to_user":"`+u[1]+`","text":"hello","client_msg_id":"c1"}`))
	if r.Status != 201 || r.JSON["seq"] != float64(1) || r.JSON["sender_id"] != u[0] {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	dm := r.JSON["conversation_id"].(string)
	if dm != string(chat.DMID(u[1], u[0])) {
		t.Fatalf("conversation id %s", dm)
	}
	if r := f.call(t, a, send(`{"to_user":"`+u[1]+`","text":"hello","client_msg_id":"c1"}`)); r.Status != 201 || r.Headers["Idempotent-Replayed"] != "true" || r.JSON["seq"] != float64(1) {
		t.Fatalf("retry: %d %s %v", r.Status, r.Body, r.Headers)
	}
	f.call(t, b, send(`{"to_user":"`+u[0]+`","payload":{"type":"image","data":{"url":"https://x/y.png","w":3}}}`))
	f.call(t, a, send(`{"conversation_id":"`+dm+`","text":"third"}`))

	if r := f.call(t, b, conv("POST", "/read", dm, nil, `{"seq":2}`)); r.Status != 200 || r.JSON["unread_count"] != float64(1) {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, b, conv("POST", "/read", dm, nil, `{"seq":1}`)); r.JSON["read_seq"] != float64(2) {
		t.Fatalf("read went back: %s", r.Body)
	}
	r = f.call(t, a, req{method: "GET", resource: "/v1/conversations"})
	list := r.JSON["conversations"].([]any)
	c := list[0].(map[string]any)
	if len(list) != 1 || c["peer_read_seq"] != float64(2) || c["unread_count"] != float64(3) || c["last_seq"] != float64(3) ||
		c["last_message"].(map[string]any)["preview"] != "third" {
		t.Fatalf("list: %s", r.Body)
	}
	// Edit then recall; both keep the seq and show in history.
	if r := f.call(t, a, msg("PATCH", "", dm, "3", `{"text":"3rd"}`)); r.Status != 200 || r.JSON["edited_at"] == nil || r.JSON["seq"] != float64(3) {
		t.Fatalf("edit: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, a, msg("POST", "/recall", dm, "3", "")); r.Status != 200 || r.JSON["recalled"] != true || r.JSON["text"] != nil {
		t.Fatalf("recall: %d %s", r.Status, r.Body)
	}
	// History: message 3 recalled, then its edit event (text erased by the
	// recall) and its recall event.
	r = f.call(t, b, conv("GET", "/messages", dm, nil, ""))
	ms := r.JSON["messages"].([]any)
	kinds := []string{}
	for _, m := range ms {
		m := m.(map[string]any)
		kinds = append(kinds, m["kind"].(string))
		if m["text"] == "3rd" {
			t.Fatalf("the recalled message's edited text is still in history: %s", r.Body)
		}
	}
	if fmt.Sprint(kinds) != "[message message message edit recall]" || ms[2].(map[string]any)["recalled"] != true ||
		ms[4].(map[string]any)["ref_seq"] != float64(3) || ms[1].(map[string]any)["payload"].(map[string]any)["type"] != "image" {
		t.Fatalf("history: %s", r.Body)
	}
	if r := f.call(t, b, conv("GET", "", dm, nil, "")); r.JSON["last_message"].(map[string]any)["preview"] != nil ||
		r.JSON["last_message"].(map[string]any)["kind"] != "recall" {
		t.Fatalf("recalled text still in the preview: %s", r.Body)
	}
	// Paging backwards by cursor.
	r = f.call(t, b, conv("GET", "/messages", dm, map[string]string{"limit": "3"}, ""))
	if ms := r.JSON["messages"].([]any); len(ms) != 3 || ms[0].(map[string]any)["seq"] != float64(3) || r.JSON["next_cursor"] == nil {
		t.Fatalf("page 1: %s", r.Body)
	}
	r = f.call(t, b, conv("GET", "/messages", dm, map[string]string{"limit": "3", "cursor": r.JSON["next_cursor"].(string)}, ""))
	if ms := r.JSON["messages"].([]any); len(ms) != 2 || ms[0].(map[string]any)["seq"] != float64(1) || r.JSON["next_cursor"] != nil {
		t.Fatalf("page 2: %s", r.Body)
	}
	r = f.call(t, b, req{method: "POST", resource: "/v1/sync", body: `{"since":{"` + dm + `":1}}`})
	if ms := r.JSON["messages"].([]any); r.Status != 200 || len(ms) != 4 {
		t.Fatalf("sync: %d %s", r.Status, r.Body)
	}
}

func TestRecallWindow(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 3)
	g, _, err := f.svc.CreateGroup(ctx, *testenv.User(u[0]), chat.CreateGroupInput{Members: u[1:]})
	if err != nil {
		t.Fatal(err)
	}
	cid := string(g.ConversationID)
	for i := 0; i < 2; i++ {
		f.call(t, testenv.User(u[1]), send(`{"to_group":"`+g.GroupID+`","text":"oops"}`))
	}
	*f.clock = f.clock.Add(3 * time.Minute)
	if r := f.call(t, testenv.User(u[1]), msg("POST", "/recall", cid, "1", "")); r.Status != 400 || r.ErrorCode() != "recall_window_closed" {
		t.Fatalf("late recall by sender: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, testenv.User(u[1]), conv("GET", "", cid, nil, "")); r.JSON["last_seq"] != float64(2) {
		t.Fatalf("a refused recall appended an event: %s", r.Body)
	}
	if r := f.call(t, testenv.User(u[0]), msg("POST", "/recall", cid, "1", "")); r.Status != 200 || r.JSON["recalled_by"] != u[0] {
		t.Fatalf("owner recall: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, testenv.User(u[1]), msg("PATCH", "", cid, "1", `{"text":"x"}`)); r.Status != 409 || r.ErrorCode() != "message_recalled" {
		t.Fatalf("edit after recall: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, testenv.Admin(), msg("POST", "/recall", cid, "2", "")); r.Status != 200 {
		t.Fatalf("admin token recall: %d %s", r.Status, r.Body)
	}
}

// TestBadInput: every bad request gets its documented code and stores nothing.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	a := testenv.User(u[0])
	f.call(t, a, send(`{"to_user":"`+u[1]+`","text":"one"}`))
	dm := string(chat.DMID(u[0], u[1]))
	big := strings.Repeat("é", chat.MaxTextRunes+1)
	bigData := `{"x":"` + strings.Repeat("a", chat.MaxPayloadBytes) + `"}`
	tests := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"empty text without payload", send(`{"to_user":"` + u[1] + `","text":""}`), 400, "validation_failed"},
		{"oversized text", send(`{"to_user":"` + u[1] + `","text":"` + big + `"}`), 400, "message_too_large"},
		{"oversized payload", send(`{"to_user":"` + u[1] + `","payload":{"type":"t","data":` + bigData + `}}`), 400, "message_too_large"},
		{"text and payload over the envelope", send(`{"to_user":"` + u[1] + `","text":"` + strings.Repeat(`\u0001`, 3000) + `","payload":{"type":"t","data":{"x":"` + strings.Repeat("a", 15000) + `"}}}`), 400, "message_too_large"},
		{"bad payload type", send(`{"to_user":"` + u[1] + `","payload":{"type":"a b"}}`), 400, "validation_failed"},
		{"no target", send(`{"text":"x"}`), 400, "validation_failed"},
		{"two targets", send(`{"to_user":"` + u[1] + `","to_group":"g","text":"x"}`), 400, "validation_failed"},
		{"DM to a user that does not exist", send(`{"to_user":"ghost-` + u[1] + `","text":"x"}`), 404, "not_found"},
		{"unknown group", send(`{"to_group":"nogroup-` + u[1] + `","text":"x"}`), 404, "not_found"},
		{"malformed conversation id", send(`{"conversation_id":"dm:` + u[0] + `","text":"x"}`), 400, "invalid_id"},
		{"bad client_msg_id", send(`{"to_user":"` + u[1] + `","text":"x","client_msg_id":"a#b"}`), 400, "invalid_id"},
		{"message to self", send(`{"to_user":"` + u[0] + `","text":"x"}`), 400, "validation_failed"},
		{"unknown conversation", conv("GET", "/messages", "dm:"+u[0]+":nobody", nil, ""), 404, "not_found"},
		{"after beyond last seq", conv("GET", "/messages", dm, map[string]string{"after": "5"}, ""), 400, "seq_out_of_range"},
		{"negative before", conv("GET", "/messages", dm, map[string]string{"before": "-1"}, ""), 400, "seq_out_of_range"},
		{"limit over 100", conv("GET", "/messages", dm, map[string]string{"limit": "101"}, ""), 400, "limit_out_of_range"},
		{"invalid cursor", conv("GET", "/messages", dm, map[string]string{"cursor": "eyJzIjoiaGlzdG9yeSJ9"}, ""), 400, "invalid_cursor"},
		{"cursor of another conversation's listing", req{method: "GET", resource: "/v1/conversations", query: map[string]string{"cursor": "AAAAAAAAAAAAAAAAAAAAAA"}}, 400, "invalid_cursor"},
		{"read beyond last seq", conv("POST", "/read", dm, nil, `{"seq":9}`), 400, "seq_out_of_range"},
		{"read without seq", conv("POST", "/read", dm, nil, `{}`), 400, "validation_failed"},
		{"edit seq out of range", msg("PATCH", "", dm, "7", `{"text":"x"}`), 400, "seq_out_of_range"},
		{"edit seq not a number", msg("PATCH", "", dm, "x", `{"text":"x"}`), 400, "validation_failed"},
		{"edit seq beyond int64", msg("PATCH", "", dm, "30864402220415442839565562995015680", `{"text":"x"}`), 400, "seq_out_of_range"},
		{"edit to empty", msg("PATCH", "", dm, "1", `{"text":""}`), 400, "validation_failed"},
		{"recall seq 0", msg("POST", "/recall", dm, "0", ""), 400, "seq_out_of_range"},
		{"sync limit over 100", req{method: "POST", resource: "/v1/sync", body: `{"limit":101}`}, 400, "limit_out_of_range"},
		{"sync bad conversation id", req{method: "POST", resource: "/v1/sync", body: `{"since":{"nope":1}}`}, 400, "invalid_id"},
		{"sync negative seq", req{method: "POST", resource: "/v1/sync", body: `{"since":{"` + dm + `":-1}}`}, 400, "seq_out_of_range"},
		{"sync invalid cursor", req{method: "POST", resource: "/v1/sync", body: `{"cursor":"garbage"}`}, 400, "invalid_cursor"},
		{"unknown field", send(`{"to_user":"` + u[1] + `","text":"x","priority":1}`), 400, "unknown_field"},
		// An empty user_id is not "no user_id" (found by the contract test).
		{"empty user_id query", conv("GET", "", dm, map[string]string{"user_id": ""}, ""), 400, "invalid_id"},
		{"empty user_id in history", conv("GET", "/messages", dm, map[string]string{"user_id": ""}, ""), 400, "invalid_id"},
		{"empty user_id in read", conv("POST", "/read", dm, nil, `{"seq":1,"user_id":""}`), 400, "invalid_id"},
		{"empty user_id in sync", req{method: "POST", resource: "/v1/sync", body: `{"user_id":""}`}, 400, "invalid_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.call(t, a, tc.r); r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %.300s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	r := f.call(t, a, conv("GET", "/messages", dm, nil, ""))
	if ms := r.JSON["messages"].([]any); len(ms) != 1 || ms[0].(map[string]any)["text"] != "one" {
		t.Fatalf("bad input changed the conversation: %s", r.Body)
	}
	if r := f.call(t, a, req{method: "GET", resource: "/v1/conversations"}); len(r.JSON["conversations"].([]any)) != 1 {
		t.Fatalf("bad input created conversations: %s", r.Body)
	}
}

// TestSyncLargestBodyTheSchemaAllows: 1,000 since entries with the longest
// keys and values the schema allows are not refused as too large (issue 12,
// defect 8: the 64 KiB default cap answered 413).
func TestSyncLargestBodyTheSchemaAllows(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 1)
	var b strings.Builder
	b.WriteString(`{"since":{`)
	for i := range chat.MaxSyncConversations {
		if i > 0 {
			b.WriteByte(',')
		}
		a := fmt.Sprintf("%064d", i)
		fmt.Fprintf(&b, `"dm:%s:%s":999999999999`, a, strings.Repeat("z", 64))
	}
	b.WriteString(`},"limit":100}`)
	if b.Len() <= httpapi.DefaultMaxBody || b.Len() > SyncMaxBody {
		t.Fatalf("body is %d bytes; want above the default cap %d and within %d", b.Len(), httpapi.DefaultMaxBody, SyncMaxBody)
	}
	r := f.call(t, testenv.User(u[0]), req{method: "POST", resource: "/v1/sync", body: b.String()})
	if r.Status != 200 {
		t.Fatalf("sync with %d bytes: got %d %.300s, want 200", b.Len(), r.Status, r.Body)
	}
}

// TestPermissions tries to break each message rule.
func TestPermissions(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 5)
	alice, bob, carol, muted := u[0], u[1], u[2], u[3]
	dm := string(chat.DMID(alice, bob))
	f.call(t, testenv.User(alice), send(`{"to_user":"`+bob+`","text":"private"}`))
	g, _, err := f.svc.CreateGroup(ctx, *testenv.User(alice), chat.CreateGroupInput{Members: []string{bob, muted}})
	if err != nil {
		t.Fatal(err)
	}
	gc := string(g.ConversationID)
	mute := true
	if _, err := f.svc.UpdateMember(ctx, *testenv.User(alice), g.GroupID, muted, chat.MemberUpdate{Muted: &mute}); err != nil {
		t.Fatal(err)
	}
	f.call(t, testenv.User(bob), send(`{"to_group":"`+g.GroupID+`","text":"by bob"}`))
	tests := []struct {
		name   string
		p      *auth.Principal
		r      req
		status int
		code   string
	}{
		{"outsider reads a DM", testenv.User(carol), conv("GET", "/messages", dm, nil, ""), 404, "not_found"},
		{"outsider gets a DM", testenv.User(carol), conv("GET", "", dm, nil, ""), 404, "not_found"},
		{"outsider posts into a DM", testenv.User(carol), send(`{"conversation_id":"` + dm + `","text":"x"}`), 404, "not_found"},
		{"outsider marks a DM read", testenv.User(carol), conv("POST", "/read", dm, nil, `{"seq":1}`), 404, "not_found"},
		{"outsider recalls in a DM", testenv.User(carol), msg("POST", "/recall", dm, "1", ""), 404, "not_found"},
		{"outsider reads a group", testenv.User(carol), conv("GET", "/messages", gc, nil, ""), 404, "not_found"},
		{"outsider posts to a group", testenv.User(carol), send(`{"to_group":"` + g.GroupID + `","text":"x"}`), 404, "not_found"},
		{"muted member posts", testenv.User(muted), send(`{"to_group":"` + g.GroupID + `","text":"x"}`), 403, "muted"},
		{"spoof sender", testenv.User(carol), send(`{"to_user":"` + bob + `","sender_id":"` + alice + `","text":"x"}`), 403, "forbidden"},
		{"user sends as system", testenv.User(carol), send(`{"to_group":"` + g.GroupID + `","system":true,"text":"x"}`), 403, "forbidden"},
		{"other member edits", testenv.User(alice), msg("PATCH", "", gc, "1", `{"text":"x"}`), 403, "forbidden"},
		{"recipient recalls a DM message", testenv.User(bob), msg("POST", "/recall", dm, "1", ""), 403, "forbidden"},
		{"user lists another's conversations", testenv.User(carol), req{method: "GET", resource: "/v1/conversations", query: map[string]string{"user_id": alice}}, 403, "forbidden"},
		{"user syncs another", testenv.User(carol), req{method: "POST", resource: "/v1/sync", body: `{"user_id":"` + alice + `"}`}, 403, "forbidden"},
		{"admin token without user", testenv.Admin(), send(`{"to_user":"` + bob + `","text":"x"}`), 400, "validation_failed"},
		{"no principal", nil, conv("GET", "/messages", dm, nil, ""), 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.call(t, tc.p, tc.r); r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %.300s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	// Admin tokens may send as a user or as the system, and read anything.
	if r := f.call(t, testenv.Admin(), send(`{"to_user":"`+bob+`","sender_id":"`+alice+`","text":"on behalf"}`)); r.Status != 201 || r.JSON["sender_id"] != alice {
		t.Fatalf("admin as user: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, testenv.Admin(), send(`{"conversation_id":"`+gc+`","system":true,"text":"notice"}`)); r.Status != 201 || r.JSON["sender_type"] != "system" || r.JSON["sender_id"] != nil {
		t.Fatalf("admin as system: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, testenv.Admin(), conv("GET", "/messages", dm, nil, "")); len(r.JSON["messages"].([]any)) != 2 {
		t.Fatalf("admin history: %s", r.Body)
	}
	// Nothing the refused calls tried is visible.
	if r := f.call(t, testenv.User(bob), conv("GET", "/messages", gc, nil, "")); len(r.JSON["messages"].([]any)) != 2 {
		t.Fatalf("group history after refused calls: %s", r.Body)
	}
}
