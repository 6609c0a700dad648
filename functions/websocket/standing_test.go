package main

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestSocketFollowsRoleAndBan (issue 17): a socket keeps no permission
// from $connect. With the handler wired as main.go wires it, a frame acts
// with the user's role as it stands (a moderator promoted after connecting
// may post in any group; demoted, may not), within StatusTTL; a ban whose
// socket close failed (stored without closing anything) refuses the next
// frame with banned, whatever the action, and closes the socket and
// removes its record.
func TestSocketFollowsRoleAndBan(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	mod := f.env.Moderation()
	now := time.Now()
	clock := func() time.Time { return now }
	guard := moderation.NewGuardAt(mod, log, clock).WithRoles(permissions.NewRoleBook(mod, clock))
	f.chat = chat.NewService(f.db.Chat, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.rt, Guard: guard})
	f.h = NewHandler(f.db.Connections, f.rt, f.chat, log).WithStanding(guard)
	ids := f.newUsers(t, "wsst", 2)
	owner, m := ids[0], ids[1]
	g, _, err := f.chat.CreateGroup(ctx, *testenv.User(owner), chat.CreateGroupInput{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	conn := f.connect(t, m) // as a plain user: no grants on the socket's principal
	post := `{"action":"send","to_group":"` + g.GroupID + `","text":"notice"}`
	// frame sends body with the principal $connect saw.
	frame := func(p *auth.Principal, body string) map[string]any {
		t.Helper()
		before := len(f.gw.Frames(conn))
		invoke(t, f.h, f.frameEvent(t, p, conn, body))
		for _, fr := range f.gw.Frames(conn)[before:] {
			if typ := fr["type"]; typ == "ack" || typ == "error" || typ == "pong" {
				return fr
			}
		}
		t.Fatalf("%s: no reply", body)
		return nil
	}
	if fr := frame(testenv.User(m), post); fr["type"] != "error" {
		t.Fatalf("a plain user posted in a group it is not in: %v", fr)
	}
	if _, err := mod.SetRole(ctx, m, permissions.RoleModerator); err != nil {
		t.Fatal(err)
	}
	now = now.Add(moderation.StatusTTL)
	wantAck(t, frame(testenv.User(m), post)) // promoted: the socket follows

	// Demoted, the socket's principal still claiming the moderator's grants.
	claimed := testenv.User(m)
	claimed.Role, claimed.Grants = permissions.RoleModerator, permissions.BuiltinRoles[permissions.RoleModerator]
	if _, err := mod.SetRole(ctx, m, ""); err != nil {
		t.Fatal(err)
	}
	now = now.Add(moderation.StatusTTL)
	if fr := frame(claimed, post); fr["type"] != "error" {
		t.Fatalf("a demoted moderator's socket still posts anywhere: %v", fr)
	}

	// Banned, and the ban's close never reached the socket.
	if _, err := mod.SetBan(ctx, m, auth.Ban{Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(moderation.StatusTTL)
	fr := frame(testenv.User(m), `{"action":"ping"}`)
	wantError(t, fr, "banned")
	if d, _ := fr["details"].(map[string]any); d["reason"] != "spam" {
		t.Fatalf("banned frame %v: want details.reason", fr)
	}
	if !slices.Contains(f.gw.Closed(), conn) {
		t.Fatalf("the banned user's socket was not closed: closed %v", f.gw.Closed())
	}
	if got := f.connIDs(t, m); len(got) != 0 {
		t.Fatalf("the banned user's connection records remain: %v", got)
	}
}
