package main

// End-to-end tests: the whole stack of template.yaml runs on this machine
// (infra/local: the functions as real bootstrap processes behind the
// local REST and WebSocket gateways, the fan-out queue's event source),
// and real WebSocket clients talk to it.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// stack is a running local stack with direct access to its tables.
type stack struct {
	*local.Stack
	out    *localtest.Log
	db     dynamo.Stores
	users  *users.Service
	chat   *chat.Service
	tokens *auth.Tokens
	key    []byte
	issuer string
}

func startStack(t *testing.T) *stack { return startStackWith(t, nil) }

// startStackWith starts a stack with its options changed by mutate.
func startStackWith(t *testing.T, mutate func(*local.Options)) *stack {
	t.Helper()
	testenv.NeedAWS(t) // the local stack runs the functions against the emulator
	env := testenv.Get(t)
	bins := localtest.Binaries(t)
	out := &localtest.Log{}
	o := local.Options{Template: env.Template, AWS: env.Cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Prefix: testenv.ID("ws") + "-",
		RESTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Concurrency: 4, SQSWait: time.Second,
		BinDir: bins,
		Output: out, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := local.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	r := s.Resources
	db := local.StoreFor(s, env.DB(env.Cfg))
	// Tokens are minted with the stack's own signing key, as the token
	// endpoint would.
	sec, err := secretsmanager.NewFromConfig(env.Cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.Secrets["SigningKeySecret"])})
	if err != nil {
		t.Fatal(err)
	}
	key := config.Derive([]byte(aws.ToString(sec.SecretString)), "jwt")
	issuer := s.Env["WebSocketFunction"]["TOKEN_ISSUER"]
	tokens, err := auth.NewTokens(key, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{Stack: s, out: out, db: db, users: users.NewService(db.Users, env.Cursors, nil),
		chat: chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{}), tokens: tokens, key: key, issuer: issuer}
}

// newUsers creates n users in the stack's table.
func (s *stack) newUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	return testenv.NewUsers(t, s.users, prefix, n)
}

func (s *stack) token(t *testing.T, user string) string {
	t.Helper()
	gen, err := s.db.Users.UserGen(ctx, user)
	if err != nil || gen == 0 {
		t.Fatalf("user %s: gen %d %v", user, gen, err)
	}
	iss, err := s.tokens.IssueUser(user, gen, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return iss.Token
}

func (s *stack) connIDs(t *testing.T, user string) []string {
	t.Helper()
	cs, err := s.db.Connections.UserConnections(ctx, user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.ConnectionID)
	}
	return out
}

// client is a WebSocket client that records every frame it receives.
type client struct {
	t    *testing.T
	name string
	ws   *websocket.Conn

	mu      sync.Mutex
	frames  []map[string]any
	closed  error // the read error that ended the connection
	changed chan struct{}
	nextID  int
}

func (s *stack) dial(t *testing.T, user string, d *websocket.Dialer) *client {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	ws, resp, err := d.Dial(s.WebSocketURL+"/?device=test&token="+s.token(t, user), nil)
	if err != nil {
		t.Fatalf("dial as %s: %v (%v)", user, err, resp)
	}
	c := &client{t: t, name: user, ws: ws, changed: make(chan struct{}, 1)}
	t.Cleanup(func() { ws.Close() })
	go c.read()
	return c
}

func (c *client) read() {
	for {
		_, data, err := c.ws.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.closed = err
			c.mu.Unlock()
			c.signal()
			return
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		c.frames = append(c.frames, m)
		c.mu.Unlock()
		c.signal()
	}
}

func (c *client) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// wait polls cond (under the lock) until it holds, up to d.
func (c *client) wait(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			return false
		}
	}
}

// do sends a frame with a fresh request_id and returns the reply.
func (c *client) do(t *testing.T, frame map[string]any) map[string]any {
	t.Helper()
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprintf("%s-%d", c.name, c.nextID)
	c.mu.Unlock()
	frame["request_id"] = id
	b, _ := json.Marshal(frame)
	return c.sendRaw(t, b, id)
}

// sendRaw writes data and waits for the reply carrying requestID.
func (c *client) sendRaw(t *testing.T, data []byte, requestID string) map[string]any {
	t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	ok := c.wait(15*time.Second, func() bool {
		for _, f := range c.frames {
			if typ := f["type"]; (typ == "ack" || typ == "error" || typ == "pong") && f["request_id"] == nilIfEmpty(requestID) && f["seen"] == nil {
				f["seen"] = true
				reply = f
				return true
			}
		}
		return c.closed != nil
	})
	if !ok || reply == nil {
		t.Fatalf("%s: no reply to %.200s (closed: %v)", c.name, data, c.closed)
	}
	return reply
}

// events returns the received frames of type typ.
func (c *client) events(typ string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, f := range c.frames {
		if f["type"] == typ {
			out = append(out, f)
		}
	}
	return out
}

// waitEvents waits until n frames of type typ have arrived.
func (c *client) waitEvents(t *testing.T, typ string, n int) []map[string]any {
	t.Helper()
	count := func() int {
		k := 0
		for _, f := range c.frames {
			if f["type"] == typ {
				k++
			}
		}
		return k
	}
	if !c.wait(20*time.Second, func() bool { return count() >= n }) {
		t.Fatalf("%s: %d %s frames, want %d", c.name, len(c.events(typ)), typ, n)
	}
	return c.events(typ)
}

// settle does a ping round trip: any push already on its way over this
// connection arrives before the pong.
func (c *client) settle(t *testing.T) {
	t.Helper()
	if r := c.do(t, map[string]any{"action": "ping"}); r["type"] != "pong" {
		t.Fatalf("ping: %v", r)
	}
}

func seqsOf(evs []map[string]any) []int {
	var out []int
	for _, e := range evs {
		n, _ := e["seq"].(float64)
		out = append(out, int(n))
	}
	return out
}

func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack")
	}
	s := startStack(t)
	top := t // clients that outlive a subtest are dialed with it
	u := s.newUsers(t, "e2e", 3)
	alice, bob, carol := u[0], u[1], u[2]
	dm := string(chat.DMID(alice, bob))

	t.Run("handshake refused without a good token, and nothing stored", func(t *testing.T) {
		gen, _ := s.db.Users.UserGen(ctx, alice)
		past, _ := auth.NewTokens(s.key, s.issuer, func() time.Time { return time.Now().Add(-2 * time.Hour) })
		expired, _ := past.IssueUser(alice, gen, time.Minute)
		otherKey, _ := auth.NewTokens([]byte(strings.Repeat("k", 32)), s.issuer, nil)
		forged, _ := otherKey.IssueUser(alice, gen, time.Hour)
		cred, _, err := auth.NewService(nil, s.db.Credentials, s.db.Users).CreateCredential(ctx, "e2e")
		if err != nil {
			t.Fatal(err)
		}
		admin, _ := s.tokens.IssueAdmin(cred.KeyID)
		tests := []struct {
			name, query string
			status      int
		}{
			{"no token", "", 401},
			{"empty token", "token=", 401},
			{"garbage", "token=nonsense", 401},
			{"expired", "token=" + expired.Token, 401},
			{"forged", "token=" + forged.Token, 401},
			{"admin token", "token=" + admin.Token, 403},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ws, resp, err := websocket.DefaultDialer.Dial(s.WebSocketURL+"/?"+tc.query, nil)
				if ws != nil {
					ws.Close()
				}
				if err == nil || resp == nil || resp.StatusCode != tc.status {
					t.Fatalf("err %v resp %v, want %d", err, resp, tc.status)
				}
				if ids := s.connIDs(t, alice); len(ids) != 0 {
					t.Fatalf("connection records %v", ids)
				}
			})
		}
	})

	t.Run("token as subprotocol", func(t *testing.T) {
		d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{"tokenim", s.token(t, carol)}}
		ws, resp, err := d.Dial(s.WebSocketURL+"/", nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, resp)
		}
		defer ws.Close()
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "tokenim" || ws.Subprotocol() != "tokenim" {
			t.Fatalf("selected subprotocol %q", got)
		}
		ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"ping","request_id":"p"}`))
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil || !strings.Contains(string(data), `"pong"`) {
			t.Fatalf("ping: %s %v", data, err)
		}
	})

	a1, a2 := s.dial(t, alice, nil), s.dial(t, alice, nil)
	b1 := s.dial(t, bob, nil)

	t.Run("A sends; B and A's other tab receive each message once, in order", func(t *testing.T) {
		for i := 1; i <= 5; i++ {
			r := a1.do(t, map[string]any{"action": "send", "to_user": bob, "text": fmt.Sprint("hello ", i), "client_msg_id": fmt.Sprint("c", i)})
			res, _ := r["result"].(map[string]any)
			m, _ := res["message"].(map[string]any)
			if r["type"] != "ack" || m["seq"] != float64(i) {
				t.Fatalf("send %d: %v", i, r)
			}
		}
		for _, c := range []*client{b1, a2} {
			c.waitEvents(t, "message.created", 5)
			c.settle(t)
			evs := c.events("message.created")
			if fmt.Sprint(seqsOf(evs)) != "[1 2 3 4 5]" {
				t.Fatalf("%s received seqs %v, want [1 2 3 4 5] once each", c.name, seqsOf(evs))
			}
			for i, e := range evs {
				m, _ := e["message"].(map[string]any)
				if e["conversation_id"] != dm || m["text"] != fmt.Sprint("hello ", i+1) || m["sender_id"] != alice {
					t.Errorf("event %d: %v", i, e)
				}
			}
		}
		a1.settle(t)
		if got := a1.events("message.created"); len(got) != 0 {
			t.Errorf("the sending tab got pushes: %v", got)
		}
	})

	t.Run("typing reaches the peer and is not stored", func(t *testing.T) {
		r := a1.do(t, map[string]any{"action": "typing", "conversation_id": dm})
		if r["type"] != "ack" {
			t.Fatalf("typing: %v", r)
		}
		evs := b1.waitEvents(t, "typing", 1)
		if evs[0]["actor"] != alice || evs[0]["conversation_id"] != dm || evs[0]["state"] != "start" {
			t.Fatalf("typing event %v", evs[0])
		}
		c, err := s.chat.GetConversation(ctx, *testenv.User(bob), dm, "")
		if err != nil || c.LastSeq != 5 {
			t.Fatalf("conversation after typing: %+v %v", c, err)
		}
		a2.settle(t)
		if got := a2.events("typing"); len(got) != 0 {
			t.Errorf("the typist's other tab got %v", got)
		}
	})

	t.Run("read receipts reach the sender", func(t *testing.T) {
		r := b1.do(t, map[string]any{"action": "read", "conversation_id": dm, "seq": 5})
		if res, _ := r["result"].(map[string]any); r["type"] != "ack" || res["read_seq"] != float64(5) {
			t.Fatalf("read: %v", r)
		}
		for _, c := range []*client{a1, a2} {
			evs := c.waitEvents(t, "conversation.read", 1)
			if evs[0]["seq"] != float64(5) || evs[0]["actor"] != bob {
				t.Errorf("%s: %v", c.name, evs[0])
			}
		}
	})

	var b2 *client
	t.Run("B offline while A sends 20; sync after reconnecting returns exactly those 20", func(t *testing.T) {
		b1.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		if !eventually(10*time.Second, func() bool { return len(s.connIDs(t, bob)) == 0 }) {
			t.Fatal("$disconnect did not remove bob's connection")
		}
		for i := 0; i < 20; i++ {
			if r := a1.do(t, map[string]any{"action": "send", "conversation_id": dm, "text": fmt.Sprint("offline ", i)}); r["type"] != "ack" {
				t.Fatalf("send: %v", r)
			}
		}
		b2 = s.dial(top, bob, nil)
		r := b2.do(t, map[string]any{"action": "sync", "since": map[string]int{dm: 5}})
		res, _ := r["result"].(map[string]any)
		msgs, _ := res["messages"].([]any)
		if r["type"] != "ack" || len(msgs) != 20 || res["next_cursor"] != nil {
			t.Fatalf("sync: %d messages, reply %.300v", len(msgs), r)
		}
		for i, m := range msgs {
			mm := m.(map[string]any)
			if mm["seq"] != float64(6+i) || mm["text"] != fmt.Sprint("offline ", i) {
				t.Fatalf("synced message %d: %v", i, mm)
			}
		}
		if got := b2.events("message.created"); len(got) != 0 {
			t.Errorf("pushes of messages sent while offline: %v", got)
		}
	})

	t.Run("a stale connection is removed on its first 410, and the others still receive", func(t *testing.T) {
		if b2 == nil {
			t.Fatal("bob's second connection was not made (the previous step failed)")
		}
		stale := "staleConn" + strings.ToUpper(testenv.ID("x")[2:]) + "="
		if err := s.db.Connections.PutConnection(ctx, realtime.NewConnection(bob, stale, time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		before := len(b2.events("message.created"))
		if r := a1.do(t, map[string]any{"action": "send", "to_user": bob, "text": "after stale"}); r["type"] != "ack" {
			t.Fatalf("send: %v", r)
		}
		b2.waitEvents(t, "message.created", before+1)
		a2.waitEvents(t, "message.created", 26)
		if !eventually(10*time.Second, func() bool {
			ids := s.connIDs(t, bob)
			return len(ids) == 1 && ids[0] != stale
		}) {
			t.Fatalf("bob's connections %v: the stale one was not removed", s.connIDs(t, bob))
		}
		if got := s.connIDs(t, alice); len(got) != 2 {
			t.Errorf("the sender's connections %v, want its 2 tabs", got)
		}
	})

	t.Run("bad frames get error frames and the socket stays open", func(t *testing.T) {
		tests := []struct {
			name, frame, code string
		}{
			{"non-JSON", `hello there`, "invalid_json"},
			{"no action", `{"request_id":"bf-2"}`, "unknown_action"},
			{"unknown action", `{"action":"dance","request_id":"bf-3"}`, "unknown_action"},
			{"unknown field", `{"action":"send","request_id":"bf-4","to_user":"` + alice + `","text":"x","colour":"red"}`, "unknown_field"},
			{"conversation the user is not in", `{"action":"send","request_id":"bf-5","conversation_id":"dm:` + alice + `:` + carol + `","text":"x"}`, "not_found"},
			{"message over 32 KB in small frames", `{"action":"send","request_id":"bf-6","to_user":"` + alice + `","text":"` + strings.Repeat("z", 40<<10) + `"}`, "payload_too_large"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var head struct {
					RequestID string `json:"request_id"`
				}
				json.Unmarshal([]byte(tc.frame), &head)
				r := b2.sendRaw(t, []byte(tc.frame), head.RequestID)
				if r["type"] != "error" || r["code"] != tc.code {
					t.Fatalf("reply %v, want error %s", r, tc.code)
				}
			})
		}
		b2.settle(t)
		if c, _ := s.chat.GetConversation(ctx, *testenv.User(alice), dm, ""); c.LastSeq != 26 {
			t.Errorf("refused frames stored messages: last seq %d", c.LastSeq)
		}
		t.Run("a single frame over 32 KB closes the socket (1009), as API Gateway does", func(t *testing.T) {
			c := s.dial(t, carol, &websocket.Dialer{HandshakeTimeout: 10 * time.Second, WriteBufferSize: 64 << 10})
			c.ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"ping","pad":"`+strings.Repeat("p", 40<<10)+`"}`))
			if !c.wait(10*time.Second, func() bool { return c.closed != nil }) || !websocket.IsCloseError(c.closed, websocket.CloseMessageTooBig) {
				t.Fatalf("closed with %v, want 1009", c.closed)
			}
		})
	})

	t.Run("a 500-member group message reaches every online member once, through the fan-out queue", func(t *testing.T) {
		members := append([]string{bob, carol}, s.newUsers(t, "big", 497)...)
		g, _, err := s.chat.CreateGroup(ctx, *testenv.User(alice), chat.CreateGroupInput{Name: "big", Members: members})
		if err != nil {
			t.Fatal(err)
		}
		online := []*client{a2, b2}
		for i := 2; i < len(members); i += 18 { // 28 more, spread over the member list
			online = append(online, s.dial(t, members[i], nil))
		}
		jobsBefore := s.out.Count(`"function":"fanout"`, "fan-out job done")
		r := a1.do(t, map[string]any{"action": "send", "to_group": g.GroupID, "text": "hello everyone"})
		res, _ := r["result"].(map[string]any)
		m, _ := res["message"].(map[string]any)
		if r["type"] != "ack" || m["seq"] != float64(1) {
			t.Fatalf("send: %v", r)
		}
		for _, c := range online {
			c.waitEvents(t, "message.created", 1)
		}
		if !eventually(10*time.Second, func() bool { return s.out.Count(`"function":"fanout"`, "fan-out job done")-jobsBefore >= 11 }) {
			t.Errorf("fan-out jobs done: %d, want 1 plan + 10 chunks", s.out.Count(`"function":"fanout"`, "fan-out job done")-jobsBefore)
		}
		for _, c := range online {
			c.settle(t)
			n := 0
			for _, e := range c.events("message.created") {
				if e["conversation_id"] == string(g.ConversationID) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s received the group message %d times", c.name, n)
			}
		}
		a1.settle(t)
		for _, e := range a1.events("message.created") {
			if e["conversation_id"] == string(g.ConversationID) {
				t.Errorf("the sending connection got a push: %v", e)
			}
		}
	})
	_ = http.StatusOK
}
