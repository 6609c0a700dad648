package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/shared/testenv"
)

// connIDs returns the user's connection ids in the connections table.
func (s *testStack) connIDs(t *testing.T, userID string) []string {
	t.Helper()
	conns, err := s.db.Connections.UserConnections(context.Background(), userID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range conns {
		out = append(out, c.ConnectionID)
	}
	return out
}

func (s *testStack) mgmt(t *testing.T) *apigatewaymanagementapi.Client {
	t.Helper()
	ep := s.Env["WebSocketFunction"]["WS_MANAGEMENT_ENDPOINT"]
	if !strings.HasPrefix(ep, "http://127.0.0.1:") {
		t.Fatalf("WS_MANAGEMENT_ENDPOINT = %q, want the local gateway", ep)
	}
	cfg := testenv.Get(t).Cfg.Copy()
	return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(ep) })
}

func TestWebSocket(t *testing.T) {
	s := startStack(t, nil, nil)
	admin := s.adminToken(t)
	alice := testenv.ID("alice")
	token := s.userToken(t, admin, alice)
	url := s.WebSocketURL + "/?token=" + token + "&device=test"

	t.Run("env points at the local gateway", func(t *testing.T) {
		env := s.Env["WebSocketFunction"]
		if env["WS_MANAGEMENT_ENDPOINT"] != strings.Replace(s.WebSocketURL, "ws://", "http://", 1)+"/prod" {
			t.Errorf("WS_MANAGEMENT_ENDPOINT = %q (gateway %s)", env["WS_MANAGEMENT_ENDPOINT"], s.WebSocketURL)
		}
		if env["CONNECTIONS_TABLE"] != s.Resources.Tables["ConnectionsTable"] {
			t.Errorf("CONNECTIONS_TABLE = %q", env["CONNECTIONS_TABLE"])
		}
	})

	refused := []struct {
		name   string
		url    string
		status int
	}{
		{"no token", s.WebSocketURL + "/", 401},
		{"empty token", s.WebSocketURL + "/?token=", 401},
		{"bad token", s.WebSocketURL + "/?token=nonsense", 401},
		{"admin token", s.WebSocketURL + "/?token=" + admin, 403},
	}
	for _, tc := range refused {
		t.Run("handshake refused: "+tc.name, func(t *testing.T) {
			before := len(s.connIDs(t, alice))
			_, resp, err := dial(t, tc.url, nil)
			if err == nil || resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("err %v resp %v, want status %d", err, resp, tc.status)
			}
			if after := len(s.connIDs(t, alice)); after != before {
				t.Errorf("connection records %d -> %d", before, after)
			}
		})
	}

	c, resp, err := dial(t, url, nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	ids := s.connIDs(t, alice)
	if len(ids) != 1 {
		t.Fatalf("connection records = %v", ids)
	}
	connID := ids[0]

	frames := []struct {
		name, send string
		want       map[string]any
	}{
		{"ping", `{"action":"ping","request_id":"r1"}`, map[string]any{"type": "pong", "request_id": "r1"}},
		{"non-JSON", `hello`, map[string]any{"type": "error", "code": "invalid_json"}},
		{"no action", `{"request_id":"r2"}`, map[string]any{"type": "error", "code": "unknown_action", "request_id": "r2"}},
		{"unknown action", `{"action":"nope","request_id":"r3"}`, map[string]any{"type": "error", "code": "unknown_action", "request_id": "r3"}},
		{"action not a string", `{"action":5}`, map[string]any{"type": "error", "code": "unknown_action"}},
	}
	for _, tc := range frames {
		t.Run("frame: "+tc.name, func(t *testing.T) {
			if err := c.WriteMessage(websocket.TextMessage, []byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			got := readFrame(t, c)
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("frame = %v, want %v", got, tc.want)
				}
			}
		})
	}
	t.Run("100 KB message in 4 KB frames is accepted", func(t *testing.T) {
		if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 100<<10))); err != nil {
			t.Fatal(err)
		}
		if got := readFrame(t, c); got["code"] != "invalid_json" {
			t.Fatalf("frame = %v", got)
		}
	})

	t.Run("management API", func(t *testing.T) {
		m := s.mgmt(t)
		ctx := context.Background()
		if _, err := m.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &connID, Data: []byte(`{"type":"hello"}`)}); err != nil {
			t.Fatal(err)
		}
		if got := readFrame(t, c); got["type"] != "hello" {
			t.Fatalf("frame = %v", got)
		}
		info, err := m.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &connID})
		if err != nil || info.ConnectedAt == nil || info.Identity == nil || aws.ToString(info.Identity.SourceIp) != "127.0.0.1" {
			t.Fatalf("GetConnection: %v %+v", err, info)
		}
		if _, err := m.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &connID}); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("after DeleteConnection: %v", err)
		}
		_, err = m.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &connID, Data: []byte(`{}`)})
		var gone *types.GoneException
		if !errors.As(err, &gone) {
			t.Fatalf("post to closed connection: %v, want GoneException", err)
		}
		if !eventually(5*time.Second, func() bool { return len(s.connIDs(t, alice)) == 0 }) {
			t.Errorf("$disconnect did not delete the record: %v", s.connIDs(t, alice))
		}
		// The closed id is never handed out again, and the pusher maps 410.
		c2, _, err := dial(t, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if ids := s.connIDs(t, alice); len(ids) != 1 || ids[0] == connID {
			t.Errorf("new connection ids %v (old %s)", ids, connID)
		}
		if _, err := m.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("never-existed="), Data: []byte(`{}`)}); !errors.As(err, &gone) {
			t.Errorf("post to unknown id: %v", err)
		}
	})

	limits := []struct {
		name  string
		size  int
		frame int // client write buffer: the frame size it sends
	}{
		{"frame over 32 KB", 40 << 10, 64 << 10},
		{"message over 128 KB", 130 << 10, 4 << 10},
	}
	for _, tc := range limits {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dial(t, url, &websocket.Dialer{WriteBufferSize: tc.frame, HandshakeTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("y", tc.size)))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err = c.ReadMessage()
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Fatalf("err = %v, want close 1009", err)
			}
		})
	}
	// Connections the gateway closed for a limit ran $disconnect too.
	if !eventually(5*time.Second, func() bool { return len(s.connIDs(t, alice)) == 0 }) {
		t.Errorf("records after the limit tests: %v", s.connIDs(t, alice))
	}
}

// TestWebSocketTimeouts: idle and lifetime limits close with 1001.
func TestWebSocketTimeouts(t *testing.T) {
	tests := []struct {
		name   string
		limits WSLimits
		ping   bool
	}{
		{"idle", WSLimits{MaxFrame: 32 << 10, MaxMessage: 128 << 10, Idle: 700 * time.Millisecond, Lifetime: time.Hour}, false},
		{"lifetime", WSLimits{MaxFrame: 32 << 10, MaxMessage: 128 << 10, Idle: time.Hour, Lifetime: 1500 * time.Millisecond}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t, nil, func(o *Options) { o.Limits = tc.limits })
			admin := s.adminToken(t)
			user := testenv.ID("timeout")
			c, _, err := dial(t, s.WebSocketURL+"?token="+s.userToken(t, admin, user), nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				if tc.ping {
					c.WriteMessage(websocket.TextMessage, []byte(`{"action":"ping"}`))
				}
				_, _, err = c.ReadMessage()
				if err != nil {
					break
				}
			}
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("err = %v, want close 1001", err)
			}
			if d := time.Since(start); d < 500*time.Millisecond {
				t.Errorf("closed after %v", d)
			}
			if !eventually(5*time.Second, func() bool { return len(s.connIDs(t, user)) == 0 }) {
				t.Error("$disconnect did not run")
			}
		})
	}
}

// TestWebSocketNoLeak connects and closes a few hundred times and checks
// that the gateway's goroutines return to where they were.
func TestWebSocketNoLeak(t *testing.T) {
	// Sandboxes per function above what the test can use at once (6
	// handshakes, each an authorizer and a $connect call, plus up to 6
	// $disconnects in flight): the local gateway throttles at once past
	// the cap, as Lambda does (atOnce in ws.go), and this test is about
	// leaks, not throttling (TestWebSocketThrottledAtOnce is).
	s := startStack(t, nil, func(o *Options) { o.Concurrency = 16 })
	admin := s.adminToken(t)
	user := testenv.ID("leak")
	url := s.WebSocketURL + "?token=" + s.userToken(t, admin, user)
	const cycles, workers = 300, 6
	run := func(n int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures int
		var first string // the first failure, to say why
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/workers; i++ {
					c, resp, err := websocket.DefaultDialer.Dial(url, nil)
					if err != nil {
						mu.Lock()
						failures++
						if first == "" {
							first = err.Error()
							if resp != nil {
								body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
								first += fmt.Sprintf(" (HTTP %d: %s)", resp.StatusCode, body)
							}
						}
						mu.Unlock()
						continue
					}
					if i%2 == 0 { // half close cleanly, half just drop the TCP connection
						c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
					}
					c.Close()
				}
			}()
		}
		wg.Wait()
		if failures > 0 {
			t.Errorf("%d of %d handshakes failed; the first: %s", failures, n, first)
		}
		if !eventually(20*time.Second, func() bool { return s.WS.Connections() == 0 }) {
			t.Fatalf("%d connections still open", s.WS.Connections())
		}
	}
	settle := func(want int) int {
		n := runtime.NumGoroutine()
		eventually(10*time.Second, func() bool { n = runtime.NumGoroutine(); return n <= want })
		return n
	}
	// A first round grows the function pools to the workers' concurrency
	// (each sandbox has a few goroutines of its own); then measure.
	// A sandbox started during the measured round brings its own
	// goroutines (the runtime API server, its connections, the process
	// wait and output copiers: perSandbox at most), which are not a leak;
	// a leak per connection would be hundreds.
	const perSandbox = 8
	run(workers * 4)
	before, sandboxesBefore := settle(0), s.liveSandboxes()
	run(cycles)
	grown := s.liveSandboxes() - sandboxesBefore
	allowed := before + 5 + perSandbox*max(grown, 0)
	after := settle(allowed)
	t.Logf("goroutines before %d, after %d cycles %d (sandboxes started meanwhile: %d)", before, cycles, after, grown)
	if after > allowed {
		t.Errorf("goroutines %d -> %d after %d connect/close cycles (%d new sandboxes allow %d)", before, after, cycles, grown, allowed)
	}
	// $disconnect runs after the socket is gone (as on AWS) and may still be
	// queued behind the function's concurrency cap: wait for it, bounded.
	left := 0
	if !eventually(20*time.Second, func() bool { left = len(s.connIDs(t, user)); return left == 0 }) {
		t.Errorf("%d connection records left", left)
	}
}

// liveSandboxes counts the stack's live sandboxes over every function.
func (s *testStack) liveSandboxes() int {
	n := 0
	for _, p := range s.Pools {
		live, _, _ := p.Stats()
		n += live
	}
	return n
}
