package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/batch"
)

// NewHandler returns the worker: every SQS record is one chunk of a batch
// job. Records are processed concurrently (their row writes share the
// processor's parallelism); the reply lists exactly the records to retry.
func NewHandler(p *batch.Processor, log *slog.Logger) batch.SQSHandlerFunc {
	return batch.SQSHandler(log, 10, func(ctx context.Context, m events.SQSMessage) error {
		return p.HandleMessage(ctx, m.Body)
	})
}
