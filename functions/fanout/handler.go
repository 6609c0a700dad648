package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/realtime"
)

// Processor runs one fan-out job (*realtime.Notifier).
type Processor interface {
	Process(ctx context.Context, j realtime.Job) error
}

// Parallel is how many jobs of one batch run at once (each push batch is
// further bounded by the notifier's concurrency).
const Parallel = 10

// NewHandler returns the FanoutQueue consumer. Each record is one job. A
// record whose job fails is reported in batchItemFailures, so SQS
// redelivers only that record (FunctionResponseTypes:
// ReportBatchItemFailures in the template); after 5 receives it goes to
// FanoutDeadLetterQueue. A panic fails its own job only, and no job starts
// within the runner's margin of the deadline: the function answers before
// its timeout, so jobs already finished (their pushes sent) are not
// redelivered. An unreadable body is dropped and counted.
func NewHandler(p Processor, log *slog.Logger, rd queue.Redeliverer) lambdasqs.HandlerFunc {
	return lambdasqs.Handler(&queue.Runner{Name: "fanout", Log: log, Redeliver: rd, Parallel: Parallel, Process: func(ctx context.Context, r queue.Record) error {
		var j realtime.Job
		if err := json.Unmarshal([]byte(r.Body), &j); err != nil {
			return queue.Malformed(err)
		}
		if err := p.Process(ctx, j); err != nil {
			log.ErrorContext(ctx, "fan-out job failed", "message_id", r.ID, "kind", j.Kind, "group_id", j.Group, "err", err.Error())
			return err
		}
		log.InfoContext(ctx, "fan-out job done", "message_id", r.ID, "kind", j.Kind, "group_id", j.Group, "users", len(j.Users)+len(j.Targets))
		return nil
	}})
}
