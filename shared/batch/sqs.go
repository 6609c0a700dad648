package batch

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandlerFunc is a Lambda handler for an SQS event source with
// ReportBatchItemFailures.
type SQSHandlerFunc func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// DeadlineMargin is kept free at the end of an invocation: messages not done
// by then are reported failed, and the function still answers before
// Lambda's timeout (a timeout would return the whole batch).
const DeadlineMargin = 5 * time.Second

// SQSHandler runs handle for every record of a batch, at most parallel at a
// time, and reports exactly the records that failed, by their message id.
// A record fails if handle returns an error, panics, or is not finished
// when the invocation's deadline (less DeadlineMargin) comes. The function
// itself never returns an error: that would make SQS redeliver the records
// that succeeded too.
func SQSHandler(log *slog.Logger, parallel int, handle func(context.Context, events.SQSMessage) error) SQSHandlerFunc {
	if parallel < 1 {
		parallel = 1
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if d, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, d.Add(-DeadlineMargin))
			defer cancel()
		}
		failed := make([]bool, len(ev.Records))
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		for i, rec := range ev.Records {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					failed[i] = true
					return
				}
				defer func() { <-sem }()
				if ctx.Err() != nil { // no new work past the deadline
					failed[i] = true
					return
				}
				if err := safely(ctx, rec, handle); err != nil {
					failed[i] = true
					log.WarnContext(ctx, "message failed", "message_id", rec.MessageId,
						"receive_count", rec.Attributes["ApproximateReceiveCount"], "err", err.Error())
				}
			}()
		}
		wg.Wait()
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		reported := map[string]bool{}
		for i, rec := range ev.Records {
			if !failed[i] || reported[rec.MessageId] {
				continue
			}
			if rec.MessageId == "" {
				// An empty identifier would fail the whole batch; Lambda
				// always sets it, so this is only logged.
				log.ErrorContext(ctx, "failed record without message id")
				continue
			}
			reported[rec.MessageId] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		log.InfoContext(ctx, "batch", "records", len(ev.Records), "failed", len(resp.BatchItemFailures))
		return resp, nil
	}
}

// safely runs handle, turning a panic into an error for that record only.
func safely(ctx context.Context, rec events.SQSMessage, handle func(context.Context, events.SQSMessage) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batch: panic: %v\n%s", p, debug.Stack())
		}
	}()
	return handle(ctx, rec)
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
