package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// stallingHead is the chat store with a head update that never answers:
// the message is stored, then the invocation runs out of time, as when
// DynamoDB stalls or the machine is saturated (issue 21's "frames with no
// reply").
type stallingHead struct{ chat.Store }

func (s stallingHead) AdvanceConversation(ctx context.Context, _ chat.ConvRef, _ chat.Message, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

// invokeWithin runs the handler through lambda.NewHandler with an
// invocation deadline of d, as Lambda gives one, and returns how long it
// took.
func invokeWithin(t *testing.T, h *Handler, ev events.APIGatewayWebsocketProxyRequest, d time.Duration) time.Duration {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	if _, err := lambda.NewHandler(h.Handle).Invoke(ctx, payload); err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return time.Since(start)
}

// TestOutOfTimeStillReplies: a send whose work outlives its share of the
// invocation gets exactly one reply, an error frame saying to retry, posted
// before the invocation's deadline; the retry with the same client_msg_id
// returns the message the first attempt stored.
func TestOutOfTimeStillReplies(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "budget", 2)
	alice, bob := u[0], u[1]
	conn := f.connect(t, alice)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	stalled := NewHandler(f.db.Connections, f.rt, chat.NewService(stallingHead{f.db.Chat}, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.rt}), log)

	body := fmt.Sprintf(`{"action":"send","request_id":"slow","to_user":%q,"text":"hello","client_msg_id":"budget-1"}`, bob)
	deadline := 3 * time.Second
	took := invokeWithin(t, stalled, f.frameEvent(t, testenv.User(alice), conn, body), deadline)
	if took >= deadline {
		t.Fatalf("the handler took %s, past the invocation's %s deadline", took, deadline)
	}
	var replies []map[string]any
	for _, fr := range f.gw.Frames(conn) {
		if fr["type"] == "ack" || fr["type"] == "error" {
			replies = append(replies, fr)
		}
	}
	if len(replies) != 1 {
		t.Fatalf("replies %v, want exactly one", replies)
	}
	wantError(t, replies[0], "service_unavailable")
	details, _ := replies[0]["details"].(map[string]any)
	if replies[0]["request_id"] != "slow" || details["retry_after_ms"] != float64(retryAfterMs) {
		t.Fatalf("reply %v: want the request_id echoed and retry_after_ms", replies[0])
	}

	// The retry, with time to spare, returns the stored message (and
	// repairs the head the first attempt never advanced).
	retry := fmt.Sprintf(`{"action":"send","request_id":"again","to_user":%q,"text":"hello","client_msg_id":"budget-1"}`, bob)
	res := wantAck(t, f.call(t, alice, conn, retry))
	m, _ := res["message"].(map[string]any)
	if res["created"] != false || m["seq"] != float64(1) || m["text"] != "hello" {
		t.Fatalf("retry ack %v: want the stored message, seq 1, created false", res)
	}
}

// TestWorkContextKeepsTheReplyBudget: the action's deadline leaves
// ReplyBudget (or half of what is left) for the reply.
func TestWorkContextKeepsTheReplyBudget(t *testing.T) {
	for _, left := range []time.Duration{10 * time.Second, 2 * time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), left)
		inv, _ := ctx.Deadline()
		work, stop := workContext(ctx)
		d, ok := work.Deadline()
		stop()
		cancel()
		kept := inv.Sub(d)
		if want := min(ReplyBudget, left/2); !ok || kept < want-50*time.Millisecond || kept > want+50*time.Millisecond {
			t.Errorf("%s left: the work's deadline keeps %s for the reply, want %s", left, kept, want)
		}
	}
	work, stop := workContext(context.Background())
	defer stop()
	if _, ok := work.Deadline(); ok {
		t.Error("no invocation deadline, yet the work got one")
	}
}
