package main

import (
	"context"
	"log/slog"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
)

// NewHandler returns the worker: every SQS record is one chunk of a batch
// job. Records are processed concurrently (their row writes share the
// processor's parallelism); the reply lists exactly the records to retry.
func NewHandler(p *batch.Processor, log *slog.Logger, rd queue.Redeliverer) lambdasqs.HandlerFunc {
	return lambdasqs.Handler(&queue.Runner{Name: "batchworker", Log: log, Redeliver: rd, Parallel: 10,
		Process: batch.ChunkProcessor(func(ctx context.Context, r queue.Record) error { return p.HandleMessage(ctx, r.Body) })})
}
