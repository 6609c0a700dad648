package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/batch"
)

// NewHandler returns the dead-letter consumer: every record is a chunk that
// failed maxReceiveCount deliveries. It commits the chunk (rows this job
// wrote count as created, the rest as failed with a reason), so the job
// finishes. Only a failure to record that is retried.
func NewHandler(p *batch.Processor, log *slog.Logger) batch.SQSHandlerFunc {
	return batch.SQSHandler(log, 10, func(ctx context.Context, m events.SQSMessage) error {
		log.WarnContext(ctx, "dead chunk", "message_id", m.MessageId, "receive_count", m.Attributes["ApproximateReceiveCount"])
		return p.HandleDeadLetter(ctx, m.Body)
	})
}
