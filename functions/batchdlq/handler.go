package main

import (
	"context"
	"log/slog"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
)

// NewHandler returns the dead-letter consumer: every record is a chunk that
// failed maxReceiveCount deliveries. It commits the chunk (rows this job
// wrote count as created, the rest as failed with a reason), so the job
// finishes. Only a failure to record that is retried.
func NewHandler(p *batch.Processor, log *slog.Logger, rd queue.Redeliverer) lambdasqs.HandlerFunc {
	return lambdasqs.Handler(&queue.Runner{Name: "batchdlq", Log: log, Redeliver: rd, Parallel: 10,
		Process: batch.ChunkProcessor(func(ctx context.Context, r queue.Record) error {
			log.WarnContext(ctx, "dead chunk", "message_id", r.ID, "receive_count", r.ReceiveCount)
			return p.HandleDeadLetter(ctx, r.Body)
		})})
}
