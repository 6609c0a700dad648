// Package delivery is the delivery backstop's worker: it takes the
// messages the messages table's stream reports as stored, lets
// chat.Service check them against their heads, and holds back the ones
// whose senders may still be pushing on a delay queue until they are due
// (docs/websocket.md, "Delivery bound"; docs/data-model.md, "Backstop").
// It knows nothing of AWS: the stream and the queue reach it through
// functions/delivery.
package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/queue"
)

// Checker is what the backstop needs of the chat service.
type Checker interface {
	CheckStored(ctx context.Context, msgs []chat.Message, pendingAge time.Duration) (chat.BackstopResult, error)
	RepairPending(ctx context.Context, ps []chat.Pending, retryAfter time.Duration) (chat.BackstopResult, error)
}

var _ Checker = (*chat.Service)(nil)

// MaxDelay is the longest a queue holds a message back (SQS: 15 minutes).
const MaxDelay = 15 * time.Minute

// perMessage bounds the pending checks one queue message carries (about
// 100 bytes each: well under SQS's 256 KB).
const perMessage = 200

// Backstop is the worker.
type Backstop struct {
	Chat       Checker
	Later      queue.BatchSender // the delay queue (DeliveryRepairQueue)
	PendingAge time.Duration     // 0: chat.DefaultPendingAge
	Log        *slog.Logger
	Now        func() time.Time // nil: time.Now
}

func (b *Backstop) age() time.Duration {
	if b.PendingAge <= 0 {
		return chat.DefaultPendingAge
	}
	return b.PendingAge
}

// body is one delay-queue message.
type body struct {
	Pending []chat.Pending `json:"pending"`
}

// Stored handles messages the stream reports as stored. An error fails the
// whole batch, which the stream then delivers again: every step is safe to
// repeat (a repeated push is dropped by clients by seq; the head only
// moves forward).
func (b *Backstop) Stored(ctx context.Context, msgs []chat.Message) error {
	res, err := b.Chat.CheckStored(ctx, msgs, b.age())
	if err != nil {
		return err
	}
	b.logResult(ctx, "stream", len(msgs), res)
	return b.hold(ctx, res.Pending)
}

// Process is the delay queue's processor (queue.Runner): one message of
// pending checks, now due.
func (b *Backstop) Process(ctx context.Context, r queue.Record) error {
	var in body
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil || len(in.Pending) == 0 {
		return queue.Malformed(fmt.Errorf("delivery: pending checks: %w", err))
	}
	res, err := b.Chat.RepairPending(ctx, in.Pending, b.age())
	if err != nil {
		return err
	}
	b.logResult(ctx, "queue", len(in.Pending), res)
	return b.hold(ctx, res.Pending) // delivered early by the queue: again, for the rest
}

// hold sends pending checks to the delay queue, each message delayed until
// the latest Due it carries.
func (b *Backstop) hold(ctx context.Context, ps []chat.Pending) error {
	if len(ps) == 0 {
		return nil
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	var msgs []queue.Message
	for start := 0; start < len(ps); start += perMessage {
		chunk := ps[start:min(start+perMessage, len(ps))]
		var due time.Time
		for _, p := range chunk {
			if p.Due.After(due) {
				due = p.Due
			}
		}
		raw, err := json.Marshal(body{Pending: chunk})
		if err != nil {
			return fmt.Errorf("delivery: encode pending: %w", err)
		}
		// Whole seconds, rounded up: a check never runs before it is due
		// (and RepairPending sends back one that does).
		delay := min(due.Sub(now()).Truncate(time.Second)+time.Second, MaxDelay)
		msgs = append(msgs, queue.Message{Body: string(raw), Delay: max(delay, 0)})
	}
	for start := 0; start < len(msgs); start += queue.MaxBatch {
		batch := msgs[start:min(start+queue.MaxBatch, len(msgs))]
		refused, err := b.Later.SendBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("delivery: hold pending: %w", err)
		}
		if len(refused) > 0 {
			return fmt.Errorf("delivery: hold pending: %d of %d refused (%s)", len(refused), len(batch), refused[0].Code)
		}
	}
	return nil
}

func (b *Backstop) logResult(ctx context.Context, from string, n int, res chat.BackstopResult) {
	level := slog.LevelDebug
	if res.Repaired > 0 {
		level = slog.LevelInfo
	}
	b.Log.Log(ctx, level, "delivery backstop", "from", from, "messages", n, "delivered", res.Delivered,
		"repaired", res.Repaired, "pending", len(res.Pending))
}
