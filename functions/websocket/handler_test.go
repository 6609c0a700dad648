package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/realtime/realtimetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// fixture is the handler over the backend's stores, with a real chat
// service and a real notifier pushing through a fake management API.
type fixture struct {
	env      *testenv.Env
	db       testenv.Stores
	gw       *realtimetest.Gateway
	rt       *realtime.Notifier
	chat     *chat.Service
	users    *users.Service
	h        *Handler
	wsRoutes map[string]bool
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	gw := realtimetest.New(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	rt := realtime.NewNotifier(db.Connections, gw.Pusher(env.Cfg), nil, realtime.Config{}, log)
	svc := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Notifier: rt})
	f := &fixture{env: env, db: db, gw: gw, rt: rt, chat: svc, users: users.NewService(db.Users, env.Cursors, nil),
		h: NewHandler(db.Connections, rt, svc, log), wsRoutes: map[string]bool{}}
	for _, r := range env.Template.WebSocketRoutesOf("WebSocketFunction") {
		f.wsRoutes[r] = true
	}
	return f
}

// newUsers creates n users and returns their ids.
func (f *fixture) newUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = testenv.ID(prefix)
		if _, _, err := f.users.Create(ctx, *testenv.Admin(), users.CreateInput{UserID: ids[i]}, ""); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func connectEvent(t *testing.T, p *auth.Principal, conn string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	testenv.Fixture(t, "websocket-connect.json", &ev)
	ev.RequestContext.ConnectionID = conn
	ev.RequestContext.Authorizer = nil
	if p != nil {
		ev.RequestContext.Authorizer = p.ContextFields()
	}
	return ev
}

// frameEvent is a MESSAGE event for body, on the route API Gateway would
// select for it ($request.body.action, else $default).
func (f *fixture) frameEvent(t *testing.T, p *auth.Principal, conn, body string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	testenv.Fixture(t, "websocket-message.json", &ev)
	ev.RequestContext.ConnectionID = conn
	ev.RequestContext.Authorizer = p.ContextFields()
	ev.Body = body
	ev.RequestContext.RouteKey = "$default"
	var head struct {
		Action any `json:"action"`
	}
	if json.Unmarshal([]byte(body), &head) == nil {
		if a, ok := head.Action.(string); ok && f.wsRoutes[a] && !strings.HasPrefix(a, "$") {
			ev.RequestContext.RouteKey = a
		}
	}
	return ev
}

func invoke(t *testing.T, h *Handler, ev events.APIGatewayWebsocketProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	var resp events.APIGatewayProxyResponse
	testenv.Invoke(t, h.Handle, ev, &resp)
	return resp
}

// connect opens a connection for user through $connect.
func (f *fixture) connect(t *testing.T, user string) string {
	t.Helper()
	conn := testenv.ID("c") + "="
	f.gw.Open(conn)
	if resp := invoke(t, f.h, connectEvent(t, testenv.User(user), conn)); resp.StatusCode != 200 {
		t.Fatalf("$connect: %d", resp.StatusCode)
	}
	return conn
}

// call sends body on conn and returns the reply (ack, error or pong).
func (f *fixture) call(t *testing.T, user, conn, body string) map[string]any {
	t.Helper()
	before := len(f.gw.Frames(conn))
	invoke(t, f.h, f.frameEvent(t, testenv.User(user), conn, body))
	var replies []map[string]any
	for _, fr := range f.gw.Frames(conn)[before:] {
		if typ := fr["type"]; typ == "ack" || typ == "error" || typ == "pong" {
			replies = append(replies, fr)
		}
	}
	if len(replies) != 1 {
		t.Fatalf("%s: replies %v, want one", body, replies)
	}
	return replies[0]
}

// events returns the pushed events (not replies) on conn of type typ.
func (f *fixture) events(conn, typ string) []map[string]any {
	var out []map[string]any
	for _, fr := range f.gw.Frames(conn) {
		if fr["type"] == typ {
			out = append(out, fr)
		}
	}
	return out
}

func wantAck(t *testing.T, fr map[string]any) map[string]any {
	t.Helper()
	if fr["type"] != "ack" {
		t.Fatalf("reply %v, want an ack", fr)
	}
	res, _ := fr["result"].(map[string]any)
	return res
}

func wantError(t *testing.T, fr map[string]any, code string) {
	t.Helper()
	if fr["type"] != "error" || fr["code"] != code {
		t.Fatalf("reply %v, want error %s", fr, code)
	}
	if msg, _ := fr["message"].(string); msg == "" {
		t.Errorf("error frame without message: %v", fr)
	}
}

func (f *fixture) connIDs(t *testing.T, user string) []string {
	t.Helper()
	cs, err := f.db.Connections.UserConnections(ctx, user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.ConnectionID)
	}
	sort.Strings(out)
	return out
}

func (f *fixture) presence(t *testing.T, user string) realtime.Presence {
	t.Helper()
	p, err := f.db.Connections.Presence(ctx, []string{user}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p[user]
}

func TestConnect(t *testing.T) {
	f := newFixture(t)
	user := f.newUsers(t, "conn", 1)[0]
	tests := []struct {
		name      string
		principal *auth.Principal
		protocol  string // Sec-WebSocket-Protocol offered
		want      int
		stored    bool
		echo      string
	}{
		{"user connects", testenv.User(user), "", 200, true, ""},
		{"token as subprotocol: tokenim selected", testenv.User(user), "tokenim, eyJhbGciOi.x.y", 200, true, "tokenim"},
		{"other subprotocols: none selected", testenv.User(user), "chat, superchat", 200, true, ""},
		{"admin token refused", testenv.Admin(), "", 403, false, ""},
		{"no authorizer context", nil, "", 401, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := testenv.ID("c")
			ev := connectEvent(t, tc.principal, conn)
			if tc.protocol != "" {
				ev.Headers["sec-websocket-protocol"] = tc.protocol
			}
			resp := invoke(t, f.h, ev)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if got := resp.Headers["Sec-WebSocket-Protocol"]; got != tc.echo {
				t.Errorf("Sec-WebSocket-Protocol = %q, want %q", got, tc.echo)
			}
			conns, err := f.db.Connections.UserConnections(ctx, user, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var rec *realtime.Connection
			for _, c := range conns {
				if c.ConnectionID == conn {
					rec = &c
				}
			}
			if (rec != nil) != tc.stored {
				t.Fatalf("stored = %v, want %v", rec != nil, tc.stored)
			}
			if rec == nil {
				return
			}
			if rec.Device != "laptop" || !strings.HasPrefix(rec.UserAgent, "Mozilla/5.0") || rec.SourceIP != "203.0.113.7" ||
				rec.ExpiresAt-rec.ConnectedAt/1000 != int64(realtime.ConnectionTTL/time.Second) {
				t.Errorf("record = %+v", *rec)
			}
			if p := f.presence(t, user); !contains(p.Conns, conn) {
				t.Errorf("presence %+v lacks %s", p, conn)
			}
		})
	}
}

func TestDisconnect(t *testing.T) {
	f := newFixture(t)
	user := f.newUsers(t, "disc", 1)[0]
	c1, c2 := f.connect(t, user), f.connect(t, user)
	var ev events.APIGatewayWebsocketProxyRequest
	testenv.Fixture(t, "websocket-disconnect.json", &ev)
	ev.RequestContext.ConnectionID = c1
	ev.RequestContext.Authorizer = testenv.User(user).ContextFields()
	for i := 0; i < 2; i++ { // a repeated $disconnect is harmless
		if resp := invoke(t, f.h, ev); resp.StatusCode != 200 {
			t.Fatalf("$disconnect: %d", resp.StatusCode)
		}
	}
	if got := f.connIDs(t, user); len(got) != 1 || got[0] != c2 {
		t.Fatalf("connections after $disconnect: %v, want [%s]", got, c2)
	}
	p := f.presence(t, user)
	if len(p.Conns) != 1 || p.Conns[0] != c2 || p.LastSeen.IsZero() {
		t.Fatalf("presence = %+v", p)
	}
}

func TestBadFrames(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "bad", 3)
	alice, bob, carol := u[0], u[1], u[2]
	conn := f.connect(t, alice)
	f.chat.Send(ctx, *testenv.User(bob), chat.SendInput{ToUser: carol, Text: "private"})
	huge := `{"action":"send","request_id":"big","to_user":"` + bob + `","text":"` + strings.Repeat("a", MaxFrameBytes) + `"}`
	tests := []struct {
		name, body, code, requestID string
	}{
		{"non-JSON frame", `hello`, "invalid_json", ""},
		{"JSON array", `[1,2]`, "invalid_json", ""},
		{"truncated JSON", `{"action":"send"`, "invalid_json", ""},
		{"no action", `{"request_id":"r2"}`, "unknown_action", "r2"},
		{"action not a string", `{"action":5,"request_id":"r2b"}`, "unknown_action", "r2b"},
		{"unknown action", `{"action":"dance","request_id":"r3"}`, "unknown_action", "r3"},
		{"oversized frame", huge, "payload_too_large", "big"},
		{"unknown field", `{"action":"send","request_id":"r4","to_user":"` + bob + `","text":"x","sender_id":"` + carol + `"}`, "unknown_field", "r4"},
		{"duplicate key", `{"action":"send","request_id":"r5","to_user":"` + bob + `","text":"x","text":"y"}`, "duplicate_key", "r5"},
		{"wrong type", `{"action":"send","request_id":"r6","to_user":"` + bob + `","text":7}`, "validation_failed", "r6"},
		{"no target", `{"action":"send","request_id":"r7","text":"x"}`, "validation_failed", "r7"},
		{"empty message", `{"action":"send","request_id":"r8","to_user":"` + bob + `"}`, "validation_failed", "r8"},
		{"bad conversation id", `{"action":"send","request_id":"r9","conversation_id":"dm:x","text":"x"}`, "invalid_id", "r9"},
		{"conversation of others", `{"action":"send","request_id":"r10","conversation_id":"dm:` + bob + `:` + carol + `","text":"x"}`, "not_found", "r10"},
		{"group the user is not in", `{"action":"send","request_id":"r11","to_group":"nogroup","text":"x"}`, "not_found", "r11"},
		{"user that does not exist", `{"action":"send","request_id":"r12","to_user":"ghost-user","text":"x"}`, "not_found", "r12"},
		{"read without seq", `{"action":"read","request_id":"r13","conversation_id":"dm:` + alice + `:` + bob + `"}`, "validation_failed", "r13"},
		{"read of others", `{"action":"read","request_id":"r14","conversation_id":"dm:` + bob + `:` + carol + `","seq":1}`, "not_found", "r14"},
		{"typing bad state", `{"action":"typing","request_id":"r15","conversation_id":"dm:` + bob + `:` + carol + `","state":"dancing"}`, "validation_failed", "r15"},
		{"typing in others' DM", `{"action":"typing","request_id":"r16","conversation_id":"dm:` + bob + `:` + carol + `"}`, "not_found", "r16"},
		{"sync bad since", `{"action":"sync","request_id":"r17","since":{"nope":1}}`, "invalid_id", "r17"},
		{"sync bad cursor", `{"action":"sync","request_id":"r18","cursor":"forged"}`, "invalid_cursor", "r18"},
		{"presence without ids", `{"action":"presence","request_id":"r19","user_ids":[]}`, "validation_failed", "r19"},
		{"presence bad id", `{"action":"presence","request_id":"r20","user_ids":["a b"]}`, "invalid_id", "r20"},
		{"ping with extra field", `{"action":"ping","request_id":"r21","x":1}`, "unknown_field", "r21"},
		// docs/websocket.md, send: REST's sender_id and system are not frame fields.
		{"send as itself by sender_id", `{"action":"send","request_id":"r22","to_user":"` + bob + `","text":"x","sender_id":"` + alice + `"}`, "unknown_field", "r22"},
		{"send as system", `{"action":"send","request_id":"r23","to_user":"` + bob + `","text":"x","system":true}`, "unknown_field", "r23"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := f.call(t, alice, conn, tc.body)
			wantError(t, fr, tc.code)
			if rid, _ := fr["request_id"].(string); rid != tc.requestID {
				t.Errorf("request_id = %q, want %q", rid, tc.requestID)
			}
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		ev := f.frameEvent(t, testenv.User(alice), conn, base64.StdEncoding.EncodeToString([]byte{0, 1, 2}))
		ev.IsBase64Encoded = true
		before := len(f.gw.Frames(conn))
		invoke(t, f.h, ev)
		got := f.gw.Frames(conn)[before:]
		if len(got) != 1 || got[0]["code"] != "invalid_json" {
			t.Fatalf("frames %v", got)
		}
	})
	t.Run("nothing was stored", func(t *testing.T) {
		list, err := f.chat.ListConversations(ctx, *testenv.User(alice), "", 0, "")
		if err != nil || len(list.Conversations) != 0 {
			t.Fatalf("alice has conversations after refused sends: %+v %v", list, err)
		}
		c, err := f.chat.GetConversation(ctx, *testenv.User(bob), string(chat.DMID(bob, carol)), "")
		if err != nil || c.LastSeq != 1 {
			t.Fatalf("bob/carol conversation changed: %+v %v", c, err)
		}
	})
	t.Run("request_id echo", func(t *testing.T) {
		for _, tc := range []struct{ body, want string }{
			{`{"action":"ping","request_id":"r1"}`, "r1"},
			{`{"action":"ping"}`, ""},
			{`{"action":"ping","request_id":5}`, ""},
			{`{"action":"ping","request_id":"` + strings.Repeat("x", 200) + `"}`, ""},
		} {
			fr := f.call(t, alice, conn, tc.body)
			if fr["type"] != "pong" || fr["request_id"] != nilIfEmpty(tc.want) {
				t.Errorf("%s: reply %v", tc.body, fr)
			}
		}
	})
	t.Run("gone connection is not an error", func(t *testing.T) {
		resp := invoke(t, f.h, f.frameEvent(t, testenv.User(alice), "never-open", `{"action":"ping"}`))
		if resp.StatusCode != 200 {
			t.Errorf("status = %d", resp.StatusCode)
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestSendDelivers(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "send", 2)
	alice, bob := u[0], u[1]
	tab1, tab2, bobConn := f.connect(t, alice), f.connect(t, alice), f.connect(t, bob)
	conv := string(chat.DMID(alice, bob))
	for i := 1; i <= 3; i++ {
		body := fmt.Sprintf(`{"action":"send","request_id":"r%d","to_user":%q,"text":"hi %d","client_msg_id":"c%d"}`, i, bob, i, i)
		res := wantAck(t, f.call(t, alice, tab1, body))
		m, _ := res["message"].(map[string]any)
		if res["created"] != true || m["seq"] != float64(i) || m["conversation_id"] != conv {
			t.Fatalf("ack %v", res)
		}
	}
	for _, c := range []string{bobConn, tab2} {
		got := f.events(c, "message.created")
		if len(got) != 3 {
			t.Fatalf("%s got %d message.created, want 3: %v", c, len(got), got)
		}
		for i, ev := range got {
			m, _ := ev["message"].(map[string]any)
			if ev["conversation_id"] != conv || ev["seq"] != float64(i+1) || m["text"] != fmt.Sprint("hi ", i+1) || ev["actor"] != alice {
				t.Errorf("event %d = %v", i, ev)
			}
		}
	}
	if got := f.events(tab1, "message.created"); len(got) != 0 {
		t.Errorf("the sending tab got pushes besides its acks: %v", got)
	}
	t.Run("a retried send is acked, not pushed again", func(t *testing.T) {
		res := wantAck(t, f.call(t, alice, tab1, fmt.Sprintf(`{"action":"send","request_id":"again","to_user":%q,"text":"hi 1","client_msg_id":"c1"}`, bob)))
		m, _ := res["message"].(map[string]any)
		if res["created"] != false || m["seq"] != float64(1) {
			t.Fatalf("retry ack %v", res)
		}
		if got := f.events(bobConn, "message.created"); len(got) != 3 {
			t.Fatalf("bob got %d pushes after a retry, want 3", len(got))
		}
	})
	t.Run("REST-side sends are pushed to every tab", func(t *testing.T) {
		if _, _, err := f.chat.Send(ctx, *testenv.User(bob), chat.SendInput{ToUser: alice, Text: "back"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{tab1, tab2, bobConn} {
			got := f.events(c, "message.created")
			if last := got[len(got)-1]; last["seq"] != float64(4) {
				t.Errorf("%s: last event %v, want seq 4", c, last)
			}
		}
	})
	t.Run("edits and recalls are pushed with the seq of their event message", func(t *testing.T) {
		if _, err := f.chat.Edit(ctx, *testenv.User(alice), conv, 2, "hi 2, edited"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.chat.Recall(ctx, *testenv.User(alice), conv, 3); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{tab1, tab2, bobConn} {
			ed, rc := f.events(c, "message.edited"), f.events(c, "message.recalled")
			if len(ed) != 1 || len(rc) != 1 {
				t.Fatalf("%s: edits %v recalls %v", c, ed, rc)
			}
			em, _ := ed[0]["event_message"].(map[string]any)
			m, _ := ed[0]["message"].(map[string]any)
			if ed[0]["seq"] != float64(2) || ed[0]["event_seq"] != float64(5) || em["kind"] != "edit" || m["text"] != "hi 2, edited" {
				t.Errorf("%s: edit event %v", c, ed[0])
			}
			rm, _ := rc[0]["event_message"].(map[string]any)
			if rc[0]["seq"] != float64(3) || rc[0]["event_seq"] != float64(6) || rm["kind"] != "recall" {
				t.Errorf("%s: recall event %v", c, rc[0])
			}
		}
	})
	t.Run("read receipts", func(t *testing.T) {
		res := wantAck(t, f.call(t, bob, bobConn, fmt.Sprintf(`{"action":"read","request_id":"rd","conversation_id":%q,"seq":3}`, conv)))
		// Unread: seq 4 (bob's message); 5 and 6 are the edit and recall events.
		if res["read_seq"] != float64(3) || res["last_seq"] != float64(6) || res["unread_count"] != float64(1) {
			t.Fatalf("read ack %v", res)
		}
		for _, c := range []string{tab1, tab2} {
			got := f.events(c, "conversation.read")
			if len(got) != 1 || got[0]["seq"] != float64(3) || got[0]["actor"] != bob || got[0]["conversation_id"] != conv {
				t.Errorf("%s read events %v", c, got)
			}
		}
		if got := f.events(bobConn, "conversation.read"); len(got) != 0 {
			t.Errorf("the reading connection got its own receipt: %v", got)
		}
	})
}

func TestTyping(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "typ", 3)
	alice, bob, carol := u[0], u[1], u[2]
	a1, a2, b1, c1 := f.connect(t, alice), f.connect(t, alice), f.connect(t, bob), f.connect(t, carol)
	f.chat.Send(ctx, *testenv.User(alice), chat.SendInput{ToUser: bob, Text: "hello"})
	conv := string(chat.DMID(alice, bob))
	res := wantAck(t, f.call(t, alice, a1, fmt.Sprintf(`{"action":"typing","request_id":"t1","conversation_id":%q}`, conv)))
	if res["delivered"] != true {
		t.Fatalf("typing ack %v", res)
	}
	got := f.events(b1, "typing")
	if len(got) != 1 || got[0]["actor"] != alice || got[0]["state"] != "start" || got[0]["conversation_id"] != conv {
		t.Fatalf("bob's typing events %v", got)
	}
	for _, c := range []string{a1, a2, c1} {
		if got := f.events(c, "typing"); len(got) != 0 {
			t.Errorf("%s got typing %v", c, got)
		}
	}
	wantAck(t, f.call(t, alice, a1, fmt.Sprintf(`{"action":"typing","conversation_id":%q,"state":"stop"}`, conv)))
	if got := f.events(b1, "typing"); len(got) != 2 || got[1]["state"] != "stop" {
		t.Fatalf("bob's typing events %v", got)
	}
	c, err := f.chat.GetConversation(ctx, *testenv.User(bob), conv, "")
	if err != nil || c.LastSeq != 1 {
		t.Fatalf("typing changed the conversation: %+v %v", c, err)
	}
	t.Run("group typing reaches the other members", func(t *testing.T) {
		g, _, err := f.chat.CreateGroup(ctx, *testenv.User(alice), chat.CreateGroupInput{Name: "t", Members: []string{bob, carol}})
		if err != nil {
			t.Fatal(err)
		}
		wantAck(t, f.call(t, bob, b1, fmt.Sprintf(`{"action":"typing","conversation_id":%q}`, g.ConversationID)))
		for conn, want := range map[string]int{a1: 1, a2: 1, c1: 1, b1: 2} { // b1: its DM events above
			if got := f.events(conn, "typing"); len(got) != want {
				t.Errorf("%s: %d typing events, want %d", conn, len(got), want)
			}
		}
	})
}

func TestSyncAndPresence(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "sync", 3)
	alice, bob, carol := u[0], u[1], u[2]
	a1, a2 := f.connect(t, alice), f.connect(t, alice)
	for i := 0; i < 7; i++ {
		f.chat.Send(ctx, *testenv.User(bob), chat.SendInput{ToUser: alice, Text: fmt.Sprint("m", i)})
	}
	conv := string(chat.DMID(alice, bob))
	res := wantAck(t, f.call(t, alice, a1, fmt.Sprintf(`{"action":"sync","request_id":"s","since":{%q:3},"limit":3}`, conv)))
	msgs, _ := res["messages"].([]any)
	if len(msgs) != 3 || res["next_cursor"] == nil {
		t.Fatalf("sync page %v", res)
	}
	res = wantAck(t, f.call(t, alice, a1, fmt.Sprintf(`{"action":"sync","since":{%q:3},"cursor":%q}`, conv, res["next_cursor"])))
	msgs, _ = res["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["seq"] != float64(7) {
		t.Fatalf("second sync page %v", res)
	}

	var ev events.APIGatewayWebsocketProxyRequest
	testenv.Fixture(t, "websocket-disconnect.json", &ev)
	bobConn := f.connect(t, bob)
	ev.RequestContext.ConnectionID, ev.RequestContext.Authorizer = bobConn, testenv.User(bob).ContextFields()
	invoke(t, f.h, ev)
	res = wantAck(t, f.call(t, alice, a2, fmt.Sprintf(`{"action":"presence","request_id":"p","user_ids":[%q,%q,%q,%q]}`, alice, bob, carol, alice)))
	list, _ := res["users"].([]any)
	if len(list) != 3 {
		t.Fatalf("presence %v", res)
	}
	want := []struct {
		id       string
		online   bool
		conns    float64
		lastSeen bool
	}{{alice, true, 2, false}, {bob, false, 0, true}, {carol, false, 0, false}}
	for i, w := range want {
		p := list[i].(map[string]any)
		if p["user_id"] != w.id || p["online"] != w.online || p["connections"] != w.conns || (p["last_seen_at"] != nil) != w.lastSeen {
			t.Errorf("presence[%d] = %v, want %+v", i, p, w)
		}
	}
	tooMany := make([]string, MaxPresenceUsers+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("%q", fmt.Sprint("u", i))
	}
	wantError(t, f.call(t, alice, a2, `{"action":"presence","user_ids":[`+strings.Join(tooMany, ",")+`]}`), "validation_failed")
}

func TestStaleConnectionIsRemoved(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "stale", 3)
	alice, bob, carol := u[0], u[1], u[2]
	a1, a2, b1 := f.connect(t, alice), f.connect(t, alice), f.connect(t, bob)
	stale := f.connect(t, bob)
	// Connected a minute ago (older than realtime.FreshConnection, under
	// which a 410 is a $connect still in flight), then closed without
	// $disconnect.
	if err := f.db.Connections.PutConnection(ctx, realtime.NewConnection(bob, stale, time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	f.gw.Drop(stale)
	g, _, err := f.chat.CreateGroup(ctx, *testenv.User(alice), chat.CreateGroupInput{Name: "s", Members: []string{bob, carol}})
	if err != nil {
		t.Fatal(err)
	}
	c1 := f.connect(t, carol)
	wantAck(t, f.call(t, alice, a1, fmt.Sprintf(`{"action":"send","to_group":%q,"text":"hi"}`, g.GroupID)))
	for _, c := range []string{a2, b1, c1} {
		if got := f.events(c, "message.created"); len(got) != 1 {
			t.Errorf("%s got %d pushes, want 1", c, len(got))
		}
	}
	if got := f.connIDs(t, bob); len(got) != 1 || got[0] != b1 {
		t.Errorf("bob's connections %v, want only %s", got, b1)
	}
	if p := f.presence(t, bob); contains(p.Conns, stale) {
		t.Errorf("stale connection still in presence: %+v", p)
	}
	if got := f.connIDs(t, alice); len(got) != 2 {
		t.Errorf("the sender's connections changed: %v", got)
	}
}

func TestKicks(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "kick", 3)
	owner, stays, leaves := u[0], u[1], u[2]
	o1, s1, l1 := f.connect(t, owner), f.connect(t, stays), f.connect(t, leaves)
	g, _, err := f.chat.CreateGroup(ctx, *testenv.User(owner), chat.CreateGroupInput{Name: "k", Members: []string{stays, leaves}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.chat.RemoveMember(ctx, *testenv.User(owner), g.GroupID, leaves); err != nil {
		t.Fatal(err)
	}
	removed := f.events(l1, "group.member_removed")
	if len(removed) != 1 || removed[0]["group_id"] != g.GroupID {
		t.Fatalf("the removed member's events: %v", removed)
	}
	wantAck(t, f.call(t, owner, o1, fmt.Sprintf(`{"action":"send","to_group":%q,"text":"after"}`, g.GroupID)))
	if got := f.events(l1, "message.created"); len(got) != 0 {
		t.Errorf("a removed member still gets the group's messages: %v", got)
	}
	if got := f.events(s1, "message.created"); len(got) != 1 {
		t.Errorf("a member got %d messages, want 1", len(got))
	}
	t.Run("deleting a user closes its connections", func(t *testing.T) {
		svc := users.NewService(f.db.Users, f.env.Cursors, nil)
		svc.OnDelete(f.rt.CloseUser)
		s2 := f.connect(t, stays)
		if err := svc.Delete(ctx, *testenv.Admin(), stays); err != nil {
			t.Fatal(err)
		}
		closed := f.gw.Closed()
		if !contains(closed, s1) || !contains(closed, s2) || contains(closed, o1) {
			t.Errorf("closed %v, want %s and %s", closed, s1, s2)
		}
		if got := f.connIDs(t, stays); len(got) != 0 {
			t.Errorf("records left: %v", got)
		}
	})
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	want := tmpl.WebSocketRoutesOf("WebSocketFunction")
	got := NewHandler(nil, realtime.NewNotifier(nil, nil, nil, realtime.Config{}, nil), nil, nil).Routes()
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("handler routes %v, template routes %v", got, want)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
