package batch

import (
	"context"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

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

// Queue sends chunk messages.
type Queue interface {
	// SendBatch sends up to 10 bodies in one call. It returns the entries
	// SQS refused, by index into bodies.
	SendBatch(ctx context.Context, bodies []string) ([]SendFailure, error)
}

// SendFailure is one refused entry. Permanent refusals (the sender's
// fault) are not retried.
type SendFailure struct {
	Index     int
	Permanent bool
}

// SQSQueue is a Queue on an SQS queue URL.
type SQSQueue struct {
	Client *sqs.Client
	URL    string
}

// SendBatch implements Queue with one SendMessageBatch.
func (q SQSQueue) SendBatch(ctx context.Context, bodies []string) ([]SendFailure, error) {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(b)}
	}
	out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("batch: send chunks: %w", err)
	}
	var failed []SendFailure
	for _, f := range out.Failed {
		var i int
		if _, err := fmt.Sscan(aws.ToString(f.Id), &i); err != nil || i < 0 || i >= len(bodies) {
			return nil, fmt.Errorf("batch: send chunks: unknown failed entry id %q", aws.ToString(f.Id))
		}
		failed = append(failed, SendFailure{Index: i, Permanent: f.SenderFault})
	}
	return failed, nil
}
