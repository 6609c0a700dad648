package local

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/infra/template"
)

// SQSPoller is Lambda's event source mapping for one SQS event: it
// long-polls the queue, batches as configured, invokes the function with
// an events.SQSEvent and deletes what the function processed.
type SQSPoller struct {
	Source   template.SQSSource
	QueueURL string
	QueueARN string
	Region   string
	Client   *sqs.Client
	Fn       Invoker
	Log      *slog.Logger
	// Wait is the long-poll wait per ReceiveMessage (20 s on AWS).
	Wait time.Duration
}

// Run polls until ctx ends.
func (p *SQSPoller) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		batch, err := p.receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.Log.Warn("sqs receive failed", "function", p.Source.Function, "err", err.Error())
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			continue
		}
		if len(batch) > 0 {
			p.process(ctx, batch)
		}
	}
}

// receive collects up to BatchSize messages, waiting up to the batching
// window once the first message is in.
func (p *SQSPoller) receive(ctx context.Context) ([]types.Message, error) {
	size := max(p.Source.BatchSize, 1)
	window := time.Duration(p.Source.BatchWindow) * time.Second
	var batch []types.Message
	var until time.Time
	for len(batch) < size {
		wait := p.Wait
		if wait == 0 {
			wait = 20 * time.Second
		}
		if len(batch) > 0 {
			left := time.Until(until)
			if left <= 0 {
				break
			}
			wait = min(wait, left)
		}
		out, err := p.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: int32(min(size-len(batch), 10)),
			WaitTimeSeconds: int32(max(wait/time.Second, 0)),
			//lint:ignore SA1019 some emulators read only the older parameter
			AttributeNames:              []types.QueueAttributeName{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if len(batch) > 0 && ctx.Err() == nil {
				return batch, nil
			}
			return batch, err
		}
		if len(batch) == 0 && len(out.Messages) > 0 {
			until = time.Now().Add(window)
		}
		batch = append(batch, out.Messages...)
		if window == 0 && len(batch) > 0 {
			break
		}
	}
	return batch, nil
}

func (p *SQSPoller) event(batch []types.Message) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range batch {
		rec := events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSourceARN: p.QueueARN, EventSource: "aws:sqs", AWSRegion: p.Region}
		for k, a := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{DataType: aws.ToString(a.DataType),
				StringValue: a.StringValue, BinaryValue: a.BinaryValue, StringListValues: a.StringListValues, BinaryListValues: a.BinaryListValues}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// process invokes the function and deletes the messages Lambda would:
// all on success; with ReportBatchItemFailures all but the listed ones;
// none on a function error or a failure list naming an unknown or empty
// id (the whole batch returns to the queue, and the queue's redrive
// policy moves poison messages to the dead-letter queue).
func (p *SQSPoller) process(ctx context.Context, batch []types.Message) {
	payload, err := json.Marshal(p.event(batch))
	if err != nil {
		return
	}
	log := p.Log.With("function", p.Source.Function, "event", p.Source.Event, "messages", len(batch))
	out, err := p.Fn.Invoke(ctx, payload)
	if err != nil {
		log.Warn("sqs batch failed; messages return to the queue", "err", err.Error())
		return
	}
	keep := map[string]bool{}
	if p.Source.ReportFailures {
		var resp events.SQSEventResponse
		if len(out) > 0 && string(out) != "null" {
			if err := json.Unmarshal(out, &resp); err != nil {
				log.Warn("sqs batch response unreadable; whole batch returns to the queue")
				return
			}
		}
		ids := map[string]bool{}
		for _, m := range batch {
			ids[aws.ToString(m.MessageId)] = true
		}
		for _, f := range resp.BatchItemFailures {
			if f.ItemIdentifier == "" || !ids[f.ItemIdentifier] {
				log.Warn("sqs batch response names an unknown item; whole batch returns to the queue", "item", f.ItemIdentifier)
				return
			}
			keep[f.ItemIdentifier] = true
		}
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range batch {
		if !keep[aws.ToString(m.MessageId)] {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	for len(del) > 0 {
		n := min(len(del), 10)
		if _, err := p.Client.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: del[:n]}); err != nil {
			log.Warn("sqs delete failed", "err", err.Error())
		}
		del = del[n:]
	}
	log.Info("sqs batch done", "failed", len(keep))
}
