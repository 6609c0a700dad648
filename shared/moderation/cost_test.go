package moderation_test

import (
	"io"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestGuardCostPerSend measures what the guard adds to a send, with the
// request-counting middleware: the same DMs with and without the guard.
// The first send of a sandbox reads the sender's status, the blocklist
// entry and the word filter; within their TTLs later sends read nothing.
func TestGuardCostPerSend(t *testing.T) {
	testenv.NeedAWS(t) // counts DynamoDB requests
	env := testenv.Get(t)
	ids := testenv.NewUsers(t, newFixture(t).users, "cost", 2)
	a, b := ids[0], ids[1]
	cfg, c := env.Counted()
	db := env.DB(cfg)
	now := time.Now()
	guard := moderation.NewGuardAt(dynamo.NewModeration(db.Client(), db.Tables()), logging.NewTo(io.Discard, "t"), func() time.Time { return now })
	plain := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{})
	guarded := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Guard: guard})
	if _, _, err := plain.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "first"}); err != nil {
		t.Fatal(err)
	}
	const n = 5
	run := func(svc *chat.Service) awsclient.Snapshot {
		c.Reset()
		for range n {
			now = now.Add(time.Second) // within the rate limit
			if _, _, err := svc.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "hello"}); err != nil {
				t.Fatal(err)
			}
		}
		return c.Snapshot()
	}
	base, with := run(plain), run(guarded)
	extra := func(s awsclient.Snapshot) int { return s.Count("DynamoDB.GetItem") }
	t.Logf("%d DMs without the guard: %s", n, base)
	t.Logf("%d DMs with the guard:    %s", n, with)
	got := extra(with) - extra(base)
	// First send: status, block entry, word filter; then nothing within 5 s.
	if got != 3 {
		t.Errorf("the guard added %d GetItem over %d sends, want 3 (first send only)", got, n)
	}
	if with.WriteUnits != base.WriteUnits {
		t.Errorf("the guard wrote: %.1f WCU vs %.1f", with.WriteUnits, base.WriteUnits)
	}
	t.Logf("added read units: %.1f over %d sends", with.ReadUnits-base.ReadUnits, n)
}
