package batch

import (
	"context"

	"github.com/tokenim/tokenim/shared/queue"
)

// ChunkProcessor is the queue.Processor of the chunk queues (the worker and
// the dead-letter consumer): a body that is not a chunk message is
// malformed, dropped and counted, since no delivery could make it
// readable; any other body goes to handle.
func ChunkProcessor(handle func(ctx context.Context, r queue.Record) error) queue.Processor {
	return func(ctx context.Context, r queue.Record) error {
		if _, err := DecodeMessage(r.Body); err != nil {
			return queue.Malformed(err)
		}
		return handle(ctx, r)
	}
}

// Queue sends chunk messages (sqsqueue.Queue on BatchQueue is one).
type Queue interface {
	// SendBatch sends up to queue.MaxBatch messages in one call. It
	// returns the entries the queue refused; permanent refusals (the
	// sender's fault) are not retried.
	SendBatch(ctx context.Context, msgs []queue.Message) ([]queue.Refused, error)
}
