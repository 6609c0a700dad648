package local

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestDemoModeratorBanClosesLiveSocket (issue 17): the seeded moderator
// (mod) bans bob through the REST API with its own user token, as the
// demo's Ban button does; bob's open socket on the local gateway is
// closed by the server within a few seconds (the time is logged), alice's
// stays open, bob's REST calls get banned and a new handshake 401; an
// unban lets bob connect again.
func TestDemoModeratorBanClosesLiveSocket(t *testing.T) {
	s := startStack(t, nil, nil)
	ctx := context.Background()
	info, err := Seed(ctx, s.Stack, s.db, s.tmpl, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, u := range info.DemoUsers {
		tokens[u.UserID] = u.Token
	}
	mod := &Client{Base: s.RESTURL, Token: tokens["mod"]}
	bobSock, _, err := dial(t, s.WebSocketURL+"/?token="+tokens["bob"], nil)
	if err != nil {
		t.Fatal(err)
	}
	aliceSock, _, err := dial(t, s.WebSocketURL+"/?token="+tokens["alice"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return len(s.connIDs(t, "bob")) > 0 }) {
		t.Fatal("bob's connection was not recorded")
	}

	start := time.Now()
	if status, err := mod.Do(ctx, "PUT", "/v1/users/bob/ban", map[string]string{"reason": "demo"}, nil); err != nil {
		t.Fatalf("the moderator's ban: %d %v", status, err)
	}
	bobSock.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := bobSock.ReadMessage()
		if err == nil {
			continue // a frame pushed before the close
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("bob's socket is still open 10 s after the ban")
		}
		break
	}
	t.Logf("ban request to socket closed: %v", time.Since(start).Round(time.Millisecond))
	if ids := s.connIDs(t, "bob"); len(ids) != 0 {
		t.Errorf("bob's connection records remain: %v", ids)
	}
	if err := aliceSock.WriteMessage(websocket.TextMessage, []byte(`{"action":"ping","request_id":"p"}`)); err != nil {
		t.Fatal(err)
	}
	if fr := readFrame(t, aliceSock); fr["type"] != "pong" {
		t.Fatalf("alice's socket after bob's ban: %v", fr)
	}

	bob := &Client{Base: s.RESTURL, Token: tokens["bob"]}
	if status, _ := bob.Do(ctx, "GET", "/v1/conversations", nil, nil); status != http.StatusForbidden {
		t.Errorf("banned bob's REST call: %d, want 403 banned", status)
	}
	if _, resp, err := dial(t, s.WebSocketURL+"/?token="+tokens["bob"], nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("banned bob's handshake: %v %v, want 401", err, resp)
	}
	if status, err := mod.Do(ctx, "DELETE", "/v1/users/bob/ban", nil, nil); err != nil {
		t.Fatalf("unban: %d %v", status, err)
	}
	if _, _, err := dial(t, s.WebSocketURL+"/?token="+tokens["bob"], nil); err != nil {
		t.Fatalf("bob cannot connect after the unban: %v", err)
	}
}
