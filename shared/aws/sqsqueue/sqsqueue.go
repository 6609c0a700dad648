// Package sqsqueue is the SQS adapter: queue.Sender and queue.BatchSender
// on one queue URL, used by batch (chunk messages), realtime (fan-out
// jobs) and signup (queued sign-ups). It makes the SQS call and maps its answer; what to
// send, how to batch it and what a refusal means are the use cases'.
package sqsqueue

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/signup"
)

var (
	_ queue.BatchSender = (*Queue)(nil) // realtime.NewJobQueue's
	_ queue.Sender      = (*Queue)(nil)
	_ batch.Queue       = (*Queue)(nil)
	_ signup.Sender     = (*Queue)(nil)
)

// Queue sends to the SQS queue at one URL. Retries are the client's: the
// one policy set by awsclient.Load.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the queue at url.
func New(c *sqs.Client, url string) *Queue { return &Queue{client: c, url: url} }

// SendBatch makes one SendMessageBatch; entry ids are the indexes into msgs.
func (q *Queue) SendBatch(ctx context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body),
			DelaySeconds: int32(m.Delay.Seconds()), MessageGroupId: optional(m.Group), MessageDeduplicationId: optional(m.DedupID)}
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("sqsqueue: send batch: %w", err)
	}
	refused := make([]queue.Refused, 0, len(out.Failed))
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(msgs) {
			return nil, fmt.Errorf("sqsqueue: send batch: unknown failed entry id %q", aws.ToString(f.Id))
		}
		refused = append(refused, queue.Refused{Index: i, Permanent: f.SenderFault, Code: aws.ToString(f.Code)})
	}
	return refused, nil
}

// Send makes one SendMessage.
func (q *Queue) Send(ctx context.Context, m queue.Message) error {
	in := &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: aws.String(m.Body), DelaySeconds: int32(m.Delay.Seconds()),
		MessageGroupId: optional(m.Group), MessageDeduplicationId: optional(m.DedupID)}
	if _, err := q.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("sqsqueue: send: %w", err)
	}
	return nil
}

// optional is nil for "" (a standard queue refuses FIFO parameters).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
