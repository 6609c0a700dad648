package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeed: make dev's first credential, demo users and group, local.json,
// and the demo page's JSON (which must not carry the admin secret).
func TestSeed(t *testing.T) {
	demo := &Demo{}
	s := startStack(t, nil, func(o *Options) { o.Extra = map[string]http.Handler{"/demo": demo} })
	info, err := Seed(context.Background(), s.Stack, s.db, s.tmpl, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	demo.SetInfo(info)
	if info.RESTURL != s.RESTURL || info.WebSocketURL != s.WebSocketURL || !strings.HasPrefix(info.Admin.KeyID, "tk_") || info.Admin.Secret == "" {
		t.Errorf("info = %+v", info)
	}
	if len(info.DemoUsers) != 3 || info.DemoUsers[0].UserID != "alice" || info.DemoUsers[1].UserID != "bob" ||
		info.DemoUsers[2].UserID != "mod" || info.DemoUsers[2].Role != "moderator" {
		t.Fatalf("demo users = %+v", info.DemoUsers)
	}
	if hasRoute(s.tmpl, "POST /v1/groups") != (info.DemoGroupID == "demo") {
		t.Errorf("demo group %q", info.DemoGroupID)
	}
	for _, u := range info.DemoUsers {
		c, _, err := dial(t, s.WebSocketURL+"/?token="+u.Token, nil)
		if err != nil {
			t.Fatalf("%s cannot connect: %v", u.UserID, err)
		}
		c.Close()
	}
	if hasRoute(s.tmpl, "POST /v1/messages") && info.DemoGroupID != "" {
		var page struct {
			Conversations []map[string]any `json:"conversations"`
		}
		bob := &Client{Base: s.RESTURL, Token: info.DemoUsers[1].Token}
		if _, err := bob.Do(context.Background(), "GET", "/v1/conversations", nil, &page); err != nil || len(page.Conversations) != 2 {
			t.Errorf("bob's conversations: %v %v", err, page.Conversations)
		}
	}
	// Seeding again (an emulator kept from an earlier run) works too.
	if _, err := Seed(context.Background(), s.Stack, s.db, s.tmpl, slog.New(slog.NewJSONHandler(io.Discard, nil))); err != nil {
		t.Fatalf("second seed: %v", err)
	}

	path := filepath.Join(t.TempDir(), "local.json")
	if err := WriteInfo(path, info); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rest_url", "websocket_url", "admin", "demo_users", "demo_group_id"} {
		if _, ok := back[k]; !ok {
			t.Errorf("local.json lacks %s", k)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("local.json mode %v", st.Mode().Perm())
	}

	r := do(t, "GET", s.RESTURL+"/demo/local.json", nil, nil)
	if r.status != 200 || strings.Contains(string(r.body), info.Admin.Secret) || !strings.Contains(string(r.body), info.DemoUsers[0].Token) {
		t.Errorf("/demo/local.json: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", s.RESTURL+"/demo/", nil, nil); r.status != 200 || !strings.Contains(string(r.body), "TokenIM demo") {
		t.Errorf("/demo/: %d", r.status)
	}
	if r := do(t, "GET", s.RESTURL+"/demo/app.js", nil, nil); r.status != 200 {
		t.Errorf("/demo/app.js: %d", r.status)
	}
}
