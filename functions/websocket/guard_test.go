package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
)

// TestSendRateLimitedFrame (issue 17): with the moderation guard wired as
// main.go wires it, a user over the per-second send limit gets an error
// frame rate_limited with details.retry_after_ms, and a blocked DM the
// same not_found a missing user gets.
func TestSendRateLimitedFrame(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	mod := f.env.Moderation()
	// A clock that stands still: on the emulator the sends take long enough
	// for the bucket to refill between them.
	now := time.Now()
	guard := moderation.NewGuardAt(mod, log, func() time.Time { return now })
	f.chat = chat.NewService(f.db.Chat, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.rt, Guard: guard})
	f.h = NewHandler(f.db.Connections, f.rt, f.chat, log)
	ids := f.newUsers(t, "wsrl", 2)
	a, b := ids[0], ids[1]
	conn := f.connect(t, a)
	send := `{"action":"send","to_user":"` + b + `","text":"hi"}`
	for range moderation.SendLimits[0].Size() {
		wantAck(t, f.call(t, a, conn, send))
	}
	fr := f.call(t, a, conn, send)
	wantError(t, fr, "rate_limited")
	d, _ := fr["details"].(map[string]any)
	if ms, _ := d["retry_after_ms"].(float64); ms < 1 || ms > 1000 {
		t.Fatalf("error frame %v: want details.retry_after_ms", fr)
	}

	if err := mod.PutBlock(ctx, moderation.Block{UserID: a, BlockedID: b}); err != nil {
		t.Fatal(err)
	}
	connB := f.connect(t, b)
	blocked := f.call(t, b, connB, `{"action":"send","to_user":"`+a+`","text":"hi"}`)
	missing := f.call(t, b, connB, `{"action":"send","to_user":"nobody-`+a+`","text":"hi"}`)
	wantError(t, blocked, "not_found")
	wantError(t, missing, "not_found")
}
