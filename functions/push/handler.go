package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
)

// Processor runs one push job (*push.Deliverer).
type Processor interface {
	Process(ctx context.Context, j push.Job) (push.Outcome, error)
}

// Parallel is how many jobs of one batch run at once (each job further
// runs 10 recipients at once).
const Parallel = 5

// NewHandler returns the PushQueue consumer. Each record is one job. A
// job whose pushes failed retryably (or whose reads failed) is reported
// in batchItemFailures, so SQS redelivers only it; its devices already
// pushed are skipped by their claims. After 5 receives it goes to
// PushDeadLetterQueue. An unreadable body is dropped and counted.
func NewHandler(p Processor, log *slog.Logger, rd queue.Redeliverer) lambdasqs.HandlerFunc {
	return lambdasqs.Handler(&queue.Runner{Name: "push", Log: log, Redeliver: rd, Parallel: Parallel, Process: func(ctx context.Context, r queue.Record) error {
		var j push.Job
		if err := json.Unmarshal([]byte(r.Body), &j); err != nil {
			return queue.Malformed(err)
		}
		out, err := p.Process(ctx, j)
		attrs := []any{"message_id", r.ID, "conversation_id", j.ConversationID, "seq", j.Seq, "users", len(j.Users),
			"pushed", out.Pushed, "duplicate", out.Duplicate, "removed", out.Removed, "failed", out.Failed,
			"no_device", out.NoDevice, "quiet", out.Quiet, "muted", out.Muted}
		if err != nil {
			log.ErrorContext(ctx, "push job failed", append(attrs, "err", err.Error())...)
			return err
		}
		log.InfoContext(ctx, "push job done", attrs...)
		return nil
	}})
}
