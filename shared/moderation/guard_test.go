package moderation_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

type fixture struct {
	env   *testenv.Env
	mod   moderation.Store
	guard *moderation.Guard
	chat  *chat.Service
	users *users.Service
	clock *time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	now := time.Now()
	f := &fixture{env: env, mod: env.Moderation(), users: users.NewService(db.Users, env.Cursors, nil), clock: &now}
	f.guard = moderation.NewGuardAt(f.mod, logging.NewTo(io.Discard, "test"), func() time.Time { return *f.clock })
	f.chat = chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Guard: f.guard})
	return f
}

func (f *fixture) advance(d time.Duration) { *f.clock = f.clock.Add(d) }

func user(id string) auth.Principal { return *testenv.User(id) }

func code(err error) apierror.Code { return apierror.CodeOf(err) }

// TestBlockHidesDMs: once B blocks A, A's DMs to B are refused exactly as
// a DM to a user that does not exist is (nothing is written), B can still
// DM A, group messages are unaffected, and unblocking restores A's DMs.
func TestBlockHidesDMs(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "blk", 3)
	a, b, c := ids[0], ids[1], ids[2]
	if _, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	g, _, err := f.chat.CreateGroup(ctx, user(b), chat.CreateGroupInput{Name: "g", Members: []string{a, c}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.mod.PutBlock(ctx, moderation.Block{UserID: b, BlockedID: a}); err != nil {
		t.Fatal(err)
	}
	f.advance(moderation.BlockTTL + time.Second) // the first DM's "not blocked" was cached

	_, _, blocked := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "again"})
	_, _, missing := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: "nobody-" + b, Text: "again"})
	pb, pm := apierror.Public(blocked), apierror.Public(missing)
	if pb.Code != apierror.NotFound || strings.ReplaceAll(pm.Message, "nobody-"+b, b) != pb.Message || pb.Details != nil {
		t.Fatalf("blocked DM %+v tells itself apart from a missing user %+v", pb, pm)
	}
	page, err := f.chat.History(ctx, user(b), string(chat.DMID(a, b)), chat.HistoryQuery{})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("a refused DM was written: %+v %v", page, err)
	}
	if _, _, err := f.chat.Send(ctx, user(b), chat.SendInput{ToUser: a, Text: "blocking is one-way"}); err != nil {
		t.Fatalf("the blocker cannot DM: %v", err)
	}
	if _, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToGroup: g.GroupID, Text: "in the group"}); err != nil {
		t.Fatalf("a block stopped a group message: %v", err)
	}
	if _, err := f.mod.DeleteBlock(ctx, b, a); err != nil {
		t.Fatal(err)
	}
	f.advance(moderation.BlockTTL + time.Second) // this sandbox's cached answer expires
	if _, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "unblocked"}); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
}

// TestBannedSenderRefused: a banned user's sends are refused (an open
// socket's too) until the ban is lifted or expires.
func TestBannedSenderRefused(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "ban", 2)
	a, b := ids[0], ids[1]
	until := f.clock.Add(time.Hour).UnixMilli()
	if ok, err := f.mod.SetBan(ctx, a, auth.Ban{Reason: "spam", Until: until}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	_, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "x"})
	if code(err) != apierror.Banned || apierror.Public(err).Details.(map[string]any)["reason"] != "spam" {
		t.Fatalf("banned send: %v", err)
	}
	f.advance(time.Hour + time.Second)
	if _, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "expired"}); err != nil {
		t.Fatalf("after the ban expired: %v", err)
	}
	if _, err := f.mod.SetBan(ctx, b, auth.Ban{Reason: "forever"}); err != nil {
		t.Fatal(err)
	}
	f.advance(moderation.StatusTTL + time.Second)
	if _, _, err := f.chat.Send(ctx, user(b), chat.SendInput{ToUser: a, Text: "x"}); code(err) != apierror.Banned {
		t.Fatalf("ban without expiry: %v", err)
	}
	if _, err := f.mod.ClearBan(ctx, b); err != nil {
		t.Fatal(err)
	}
	f.advance(moderation.StatusTTL + time.Second)
	if _, _, err := f.chat.Send(ctx, user(b), chat.SendInput{ToUser: a, Text: "unbanned"}); err != nil {
		t.Fatalf("after unban: %v", err)
	}
}

// TestSendRateLimit: the per-second limit triggers with retry_after_ms and
// recovers; the per-minute one holds beyond it; admin tokens are not limited.
func TestSendRateLimit(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "rl", 2)
	a, b := ids[0], ids[1]
	send := func() error {
		_, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "x"})
		return err
	}
	n := moderation.SendLimits[0].Size()
	for i := range n {
		if err := send(); err != nil {
			t.Fatalf("send %d within the limit: %v", i, err)
		}
	}
	err := send()
	ms, _ := apierror.Public(err).Details.(map[string]any)["retry_after_ms"].(int64)
	if code(err) != apierror.RateLimited || ms < 1 || ms > 1000 {
		t.Fatalf("over the limit: %v (retry_after_ms %d)", err, ms)
	}
	f.advance(time.Duration(ms) * time.Millisecond)
	if err := send(); err != nil {
		t.Fatalf("after retry_after_ms: %v", err)
	}
	// Keep trying n a second: the per-minute bucket runs dry, and then
	// only its refill (N a minute) passes, not the per-second rate.
	passed := 0
	for range 30 {
		f.advance(time.Second)
		passed = 0
		for range n {
			if err := send(); err == nil {
				passed++
			} else if code(err) != apierror.RateLimited {
				t.Fatal(err)
			}
		}
	}
	if want := moderation.SendLimits[1].N / 60; passed != want {
		t.Fatalf("at the per-minute limit %d sends a second passed, want %d", passed, want)
	}
	for range n + 5 {
		if _, _, err := f.chat.Send(ctx, *testenv.Admin(), chat.SendInput{ToUser: b, SenderID: a, Text: "x"}); err != nil {
			t.Fatalf("admin send as the user: %v", err)
		}
	}
}

// TestWordFilterOnSend: mask rewrites text and payload strings (stored
// masked), reject refuses with content_rejected and writes nothing, a
// changed list reaches the sandbox within FilterTTL, and system messages
// are not screened.
func TestWordFilterOnSend(t *testing.T) {
	f := newFixture(t)
	ids := testenv.NewUsers(t, f.users, "wf", 2)
	a, b := ids[0], ids[1]
	if err := f.mod.PutWordFilter(ctx, moderation.WordFilter{Action: moderation.FilterMask, Words: []string{"darn"}}); err != nil {
		t.Fatal(err)
	}
	m, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "ｄ\u200dａrn it",
		Payload: &chat.Payload{Type: "card", Data: json.RawMessage(`{"title":"DARN","n":1.50,"list":["ok","d\u0301arn"]}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "***** it" || m.Payload == nil || string(m.Payload.Data) != `{"list":["ok","*****"],"n":1.50,"title":"****"}` {
		t.Fatalf("stored %q %s", m.Text, m.Payload.Data)
	}
	// chat compacts a payload; the guard leaves a clean one as it is (a
	// re-encoding would sort the keys).
	m, _, err = f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "fine", Payload: &chat.Payload{Type: "card", Data: json.RawMessage(`{"b": 1, "a": "fine"}`)}})
	if err != nil || string(m.Payload.Data) != `{"b":1,"a":"fine"}` {
		t.Fatalf("a clean payload was re-encoded: %s %v", m.Payload.Data, err)
	}
	if err := f.mod.PutWordFilter(ctx, moderation.WordFilter{Action: moderation.FilterReject, Words: []string{"darn"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "darn"}); err != nil {
		t.Fatalf("the old list (mask) should serve until FilterTTL: %v", err)
	}
	f.advance(moderation.FilterTTL + time.Second)
	before, _ := f.chat.History(ctx, user(b), string(chat.DMID(a, b)), chat.HistoryQuery{})
	_, _, err = f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "DARN"})
	if code(err) != apierror.ContentRejected || apierror.Public(err).Details.(map[string]any)["field"] != "text" {
		t.Fatalf("reject: %v", err)
	}
	_, _, err = f.chat.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "ok", Payload: &chat.Payload{Type: "card", Data: json.RawMessage(`{"t":"darn"}`)}})
	if code(err) != apierror.ContentRejected || apierror.Public(err).Details.(map[string]any)["field"] != "payload" {
		t.Fatalf("reject payload: %v", err)
	}
	after, _ := f.chat.History(ctx, user(b), string(chat.DMID(a, b)), chat.HistoryQuery{})
	if len(after.Messages) != len(before.Messages) {
		t.Fatal("a rejected message was written")
	}
	if _, _, err := f.chat.Send(ctx, *testenv.Admin(), chat.SendInput{ConversationID: string(chat.DMID(a, b)), System: true, Text: "darn (system)"}); err != nil {
		t.Fatalf("system message screened: %v", err)
	}
}
