package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/delivery"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
)

// Backstop is the worker (*delivery.Backstop).
type Backstop interface {
	Stored(ctx context.Context, msgs []chat.Message) error
	Process(ctx context.Context, r queue.Record) error
}

var _ Backstop = (*delivery.Backstop)(nil)

// Handler takes the function's two event sources: the messages table's
// stream (records with eventSource aws:dynamodb) and the delay queue
// (aws:sqs). Lambda never mixes them in one invocation.
type Handler struct {
	b     Backstop
	queue lambdasqs.HandlerFunc
	log   *slog.Logger
}

// NewHandler builds the handler.
func NewHandler(b Backstop, log *slog.Logger, rd queue.Redeliverer) *Handler {
	return &Handler{b: b, log: log, queue: lambdasqs.Handler(&queue.Runner{Name: "delivery", Log: log, Redeliver: rd, Process: b.Process})}
}

// source is what tells the two events apart.
type source struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
}

// Handle dispatches one invocation.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var src source
	if err := json.Unmarshal(raw, &src); err != nil || len(src.Records) == 0 {
		return nil, fmt.Errorf("delivery: not a stream or queue event")
	}
	switch src.Records[0].EventSource {
	case "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("delivery: queue event: %w", err)
		}
		return h.queue(ctx, ev)
	case "aws:dynamodb":
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("delivery: stream event: %w", err)
		}
		return h.stream(ctx, ev)
	}
	return nil, fmt.Errorf("delivery: event source %q", src.Records[0].EventSource)
}

// stream checks a batch of stored messages. A failure reports the batch's
// first record, so Lambda delivers the whole batch again (every step is
// safe to repeat) and, after MaximumRetryAttempts, sends it to the
// dead-letter queue.
func (h *Handler) stream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var msgs []chat.Message
	for _, r := range ev.Records {
		m, ok, err := dynamo.StreamMessage(r.Change.NewImage)
		if err != nil {
			// Unreadable: retrying cannot help; the message is still in
			// history, and a later send or a retry reveals it.
			h.log.ErrorContext(ctx, "delivery: unreadable stream record", "event_id", r.EventID, "err", err.Error())
			continue
		}
		if ok {
			msgs = append(msgs, m)
		}
	}
	if err := h.b.Stored(ctx, msgs); err != nil {
		h.log.ErrorContext(ctx, "delivery: stream batch failed", "records", len(ev.Records), "err", err.Error())
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
			{ItemIdentifier: ev.Records[0].Change.SequenceNumber}}}, nil
	}
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
}
