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

// stalling is the chat store with one step that never answers, as when
// DynamoDB stalls or the machine is saturated (issue 21's "frames with no
// reply"): the message put, or the head update after it.
type stalling struct {
	chat.Store
	put, head bool
}

func (s stalling) PutMessage(ctx context.Context, m chat.Message) (*chat.Message, error) {
	if s.put {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.PutMessage(ctx, m)
}

func (s stalling) AdvanceConversation(ctx context.Context, ref chat.ConvRef, m chat.Message, p string) error {
	if s.head {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.AdvanceConversation(ctx, ref, m, p)
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
// invocation gets exactly one reply, posted before the invocation's
// deadline. Out of time before the message was stored, the reply is an
// error frame saying to retry; after, it is the ack (the message is
// durable; the backstop finishes the head). Either way the retry with the
// same client_msg_id returns the one stored message.
func TestOutOfTimeStillReplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store stalling
		ack   bool
	}{
		{"stalls before the message is stored", stalling{put: true}, false},
		{"stalls after the message is stored", stalling{head: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.newUsers(t, "budget", 2)
			alice, bob := u[0], u[1]
			conn := f.connect(t, alice)
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			tc.store.Store = f.db.Chat
			stalled := NewHandler(f.db.Connections, f.rt, chat.NewService(tc.store, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.rt, Log: log}), log)

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
			if len(replies) != 1 || replies[0]["request_id"] != "slow" {
				t.Fatalf("replies %v, want exactly one, echoing the request_id", replies)
			}
			if tc.ack {
				res, _ := replies[0]["result"].(map[string]any)
				m, _ := res["message"].(map[string]any)
				if replies[0]["type"] != "ack" || res["created"] != true || m["seq"] != float64(1) {
					t.Fatalf("reply %v: want the ack of the stored message", replies[0])
				}
			} else {
				wantError(t, replies[0], "service_unavailable")
				details, _ := replies[0]["details"].(map[string]any)
				if details["retry_after_ms"] != float64(retryAfterMs) {
					t.Fatalf("reply %v: want retry_after_ms", replies[0])
				}
			}

			// The retry, with time to spare, returns the stored message, or
			// stores it if the first attempt never did.
			retry := fmt.Sprintf(`{"action":"send","request_id":"again","to_user":%q,"text":"hello","client_msg_id":"budget-1"}`, bob)
			res := wantAck(t, f.call(t, alice, conn, retry))
			m, _ := res["message"].(map[string]any)
			if res["created"] != !tc.ack || m["seq"] != float64(1) || m["text"] != "hello" {
				t.Fatalf("retry ack %v: want seq 1, created %v", res, !tc.ack)
			}
		})
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
