// Package batchtest drives SQS-triggered handlers the way Lambda's event
// source mapping does, against a real (emulated) queue or, with no
// emulator, an in-memory one (shared/memqueue): receive up to ten
// messages, invoke the handler through lambda.NewHandler(h).Invoke with an
// events.SQSEvent, and delete only the messages the reply does not list as
// failed. A function error, or a reply naming an unknown or empty message
// id, fails the whole batch (nothing deleted), as on AWS.
package batchtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/tokenim/tokenim/shared/memqueue"
)

// Poller is one event source mapping. It reads from Mem when set, else
// from the SQS queue at QueueURL.
type Poller struct {
	SQS      *sqs.Client
	QueueURL string
	QueueARN string
	Mem      *memqueue.Queue
	// Handler is a Lambda handler taking events.SQSEvent.
	Handler any
	// Sandbox, if set, builds each concurrent worker its own handler, as
	// Lambda gives each concurrent invocation its own sandbox (and so its
	// own in-memory limits, such as a processor's write parallelism).
	Sandbox func() any
	// BatchSize is the most messages per invocation (1-10; 10 if zero).
	BatchSize int32
	// Visibility is how long a received message stays hidden; short in
	// tests so that failed messages come back quickly (Lambda uses the
	// queue's timeout, 6x the function's).
	Visibility int32

	Invocations, WholeBatchFailures, Received, ItemFailures, Deleted atomic.Int64
	receives, empty                                                  atomic.Int64
}

// Once runs one receive-invoke-delete cycle with Handler and returns how
// many messages it received.
func (p *Poller) Once(ctx context.Context) (int, error) { return p.once(ctx, p.Handler) }

// Polls returns the receives made and how many of them were empty.
func (p *Poller) Polls() (total, empty int64) { return p.receives.Load(), p.empty.Load() }

func (p *Poller) once(ctx context.Context, handler any) (int, error) {
	size := p.BatchSize
	if size == 0 {
		size = 10
	}
	ev, err := p.receive(ctx, size)
	if err != nil {
		return 0, err
	}
	p.receives.Add(1)
	if len(ev.Records) == 0 {
		p.empty.Add(1)
		return 0, nil
	}
	p.Received.Add(int64(len(ev.Records)))
	payload, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	p.Invocations.Add(1)
	reply, err := lambda.NewHandler(handler).Invoke(ctx, payload)
	if err != nil {
		p.WholeBatchFailures.Add(1)
		return len(ev.Records), nil // function error: every message returns
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(reply, &resp); err != nil {
		p.WholeBatchFailures.Add(1)
		return len(ev.Records), nil
	}
	inBatch := map[string]bool{}
	for _, r := range ev.Records {
		inBatch[r.MessageId] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == "" || !inBatch[f.ItemIdentifier] {
			p.WholeBatchFailures.Add(1)
			return len(ev.Records), nil
		}
		failed[f.ItemIdentifier] = true
	}
	p.ItemFailures.Add(int64(len(failed)))
	var done []string
	for _, r := range ev.Records {
		if !failed[r.MessageId] {
			done = append(done, r.ReceiptHandle)
		}
	}
	if err := p.delete(ctx, done); err != nil {
		return 0, err
	}
	return len(ev.Records), nil
}

// receive is one ReceiveMessage, as the event the handler gets.
func (p *Poller) receive(ctx context.Context, size int32) (events.SQSEvent, error) {
	ev := events.SQSEvent{}
	if p.Mem != nil {
		msgs := p.Mem.Receive(int(size), time.Duration(p.Visibility)*time.Second)
		if len(msgs) == 0 {
			// An empty long poll waits; keep a worker loop from spinning.
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		for _, m := range msgs {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: m.ID, ReceiptHandle: m.Handle, Body: m.Body,
				Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: p.QueueARN, AWSRegion: "us-east-1"})
		}
		return ev, nil
	}
	out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &p.QueueURL, MaxNumberOfMessages: size, VisibilityTimeout: p.Visibility, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return ev, fmt.Errorf("batchtest: receive: %w", err)
	}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: p.QueueARN,
			AWSRegion: "us-east-1",
		})
	}
	return ev, nil
}

// delete removes the messages a reply did not list as failed.
func (p *Poller) delete(ctx context.Context, handles []string) error {
	if len(handles) == 0 {
		return nil
	}
	if p.Mem != nil {
		p.Deleted.Add(int64(p.Mem.Delete(handles...)))
		return nil
	}
	del := make([]sqstypes.DeleteMessageBatchRequestEntry, len(handles))
	for i, h := range handles {
		del[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
	}
	res, err := p.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &p.QueueURL, Entries: del})
	if err != nil {
		return fmt.Errorf("batchtest: delete: %w", err)
	}
	p.Deleted.Add(int64(len(res.Successful)))
	return nil
}

// Run runs workers concurrent pollers (Lambda's concurrency) until done
// returns true or ctx ends; done is checked whenever a receive comes back
// empty and every 20 cycles.
func (p *Poller) Run(ctx context.Context, workers int, done func() bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var finished atomic.Bool
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := p.Handler
			if p.Sandbox != nil {
				h = p.Sandbox()
			}
			for i := 0; ctx.Err() == nil && !finished.Load(); i++ {
				n, err := p.once(ctx, h)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					cancel()
					return
				}
				if (n == 0 || i%20 == 19) && done() {
					finished.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if !finished.Load() {
		return fmt.Errorf("batchtest: stopped before done: %w", context.Cause(ctx))
	}
	return nil
}
