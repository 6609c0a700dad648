package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/shared/testenv"
)

// dropProxy forwards TCP to a target and can cut every connection at
// once: a WebSocket dropped under the client, as a flaky network does.
type dropProxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{l: l}
	t.Cleanup(func() { l.Close(); p.drop() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *dropProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// term is a process on a pseudo-terminal and everything it printed.
type term struct {
	mu  sync.Mutex
	out bytes.Buffer
	pty *os.File
}

func (tm *term) Write(b []byte) (int, error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.Write(b)
}

// waitFor waits up to 20 s for s to appear in the output.
func (tm *term) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		ok := strings.Contains(tm.out.String(), s)
		tm.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	t.Fatalf("no %q on the terminal after 20 s; it shows:\n%s", s, tm.out.String())
}

func (tm *term) count(s string) int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return strings.Count(tm.out.String(), s)
}

// TestLiveChatThroughPTY drives tokenim chat on a pseudo-terminal against
// the local stack: history, sending, receiving live, and a dropped socket
// while the peer sends, after which the client reconnects and syncs the
// missed message, exactly once.
func TestLiveChatThroughPTY(t *testing.T) {
	li := liveStack(t)
	bin, err := os.Executable() // this test binary, run as the CLI (TestMain)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDropProxy(t, strings.TrimPrefix(li.stack.WebSocketURL, "ws://"))
	if err := local.WriteInfo(filepath.Join(li.state, "local.json"), local.Info{RESTURL: li.stack.RESTURL,
		WebSocketURL: "ws://" + proxy.l.Addr().String(), Admin: li.cred}); err != nil {
		t.Fatal(err)
	}
	alice, bob := testenv.ID("alice"), testenv.ID("bob")
	for _, u := range []string{alice, bob} {
		if code, _, stderr := cli(t, "--local", "users", "create", u); code != 0 {
			t.Fatal(stderr)
		}
	}
	admin := NewClient(Profile{Endpoint: li.stack.RESTURL, KeyID: li.cred.KeyID, Secret: li.cred.Secret})
	bobSays := func(text string) {
		t.Helper()
		if _, err := admin.Do(context.Background(), Request{Method: "POST", Path: "/v1/messages",
			JSON: map[string]any{"to_user": alice, "sender_id": bob, "text": text}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	bobSays("hello from the past")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--local", "chat", "--as", alice, "--with", bob, "--reconnect-delay", "2s")
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{pty: f}
	go io.Copy(tm, f)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); f.Close() })

	tm.waitFor(t, "[1] "+bob+": hello from the past") // history
	tm.waitFor(t, "-- connected")
	f.Write([]byte("hi bob\n"))
	tm.waitFor(t, "[2] "+alice+": hi bob") // sent and acked
	bobSays("live one")
	tm.waitFor(t, "[3] "+bob+": live one") // pushed

	proxy.drop()
	tm.waitFor(t, "-- connection lost; reconnecting")
	bobSays("while you were away") // stored while alice has no socket: only sync can bring it
	tm.waitFor(t, "-- reconnected; synced 1 missed message(s)")
	tm.waitFor(t, "[4] "+bob+": while you were away")
	f.Write([]byte("back again\n"))
	tm.waitFor(t, "[5] "+alice+": back again")
	f.Write([]byte("/quit\n"))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("chat exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chat did not exit after /quit")
	}
	if n := tm.count("while you were away"); n != 1 {
		t.Errorf("the missed message shows %d times, want once", n)
	}
}

// TestChatRefreshesUserToken: a chat session mints its user's token with
// the admin credential, mints another when the last is within a minute
// of expiring (the next connect, at the latest every 2 hours, takes it),
// and after a handshake refused with 401.
func TestChatRefreshesUserToken(t *testing.T) {
	f := newFakeAPI(t)
	minted := 0
	f.other = func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v1/users/alice/tokens" || string(f.lastBody) != `{"ttl_seconds":600}` {
			apiErr(w, 404, "not_found", "unexpected "+r.Method+" "+r.URL.Path+" "+string(f.lastBody))
			return
		}
		minted++
		writeJSON(w, 201, map[string]any{"user_id": "alice", "access_token": fmt.Sprintf("user-%d", minted), "token_type": "Bearer", "expires_in": 600})
	}
	var mu sync.Mutex
	var handshakes []string
	refuse := map[string]bool{}
	up := websocket.Upgrader{Subprotocols: []string{"tokenim"}}
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos := websocket.Subprotocols(r)
		tok := protos[len(protos)-1]
		mu.Lock()
		handshakes = append(handshakes, tok)
		mu.Unlock()
		if refuse[tok] {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(ws.Close)

	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	admin := NewClient(f.profile())
	admin.now = func() time.Time { return now }
	c := &chat{wsURL: "ws" + strings.TrimPrefix(ws.URL, "http"), user: NewUserClient(admin, f.srv.URL, "alice", 600), acks: map[string]chan json.RawMessage{}}
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		refuse  string
		ok      bool
		want    string // the token the handshake carried
	}{
		{0, "", true, "user-1"},
		{8 * time.Minute, "", true, "user-1"},    // 2 minutes left: still good
		{90 * time.Second, "", true, "user-2"},   // 30 s left: a new one
		{time.Minute, "user-2", false, "user-2"}, // refused early (revoked, clock skew)
		{time.Second, "", true, "user-3"},        // the next attempt mints again
		{10 * time.Minute, "", true, "user-4"},   // expired while offline
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		refuse[st.refuse] = st.refuse != ""
		err := c.connect(ctx)
		if (err == nil) != st.ok {
			t.Fatalf("step %d: connect error %v, want ok=%v", i, err, st.ok)
		}
		if err == nil {
			c.close()
		}
		if got := handshakes[len(handshakes)-1]; got != st.want {
			t.Fatalf("step %d: handshake with %s, want %s (all: %v)", i, got, st.want, handshakes)
		}
	}
	if minted != 4 {
		t.Errorf("minted %d user tokens, want 4", minted)
	}
}
