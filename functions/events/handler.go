package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	tevents "github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
)

// Publisher puts events on the bus (*tevents.Publisher).
type Publisher interface {
	Publish(ctx context.Context, evs []tevents.Event) error
}

// Router queues the events for the webhook endpoints that want them
// (*webhooks.Router).
type Router interface {
	Route(ctx context.Context, evs []tevents.Event) error
}

// Handler turns a batch of stream records (Users, Groups, Jobs or
// Messages table: Lambda never mixes two streams in one invocation) into
// domain events, puts them on the bus and routes them to the webhooks.
type Handler struct {
	pub   Publisher
	route Router // nil: no webhooks (tests of the bus alone)
	log   *slog.Logger
	// dead receives the records no event could be derived from
	// (EventsDeadLetterQueue); nil: logged only (tests).
	dead queue.Sender
}

// NewHandler builds the handler.
func NewHandler(pub Publisher, route Router, log *slog.Logger) *Handler {
	return &Handler{pub: pub, route: route, log: log}
}

// WithDeadLetters sends unreadable records to q.
func (h *Handler) WithDeadLetters(q queue.Sender) *Handler { h.dead = q; return h }

// maxDeadRecord bounds the record kept whole in a dead letter (SQS takes
// 256 KiB; an item may be 400 KB): larger ones keep their position only.
const maxDeadRecord = 200 << 10

// deadLetter puts an unreadable record on the dead-letter queue: its
// position (stream, sequence number, keys), so it can be read again from
// the stream within 24 h, the reason, and the record itself when it fits.
func (h *Handler) deadLetter(ctx context.Context, r events.DynamoDBEventRecord, reason error) error {
	h.log.ErrorContext(ctx, "events: unreadable stream record, dead-lettered", "event_id", r.EventID,
		"sequence_number", r.Change.SequenceNumber, "err", reason.Error())
	if h.dead == nil {
		return nil
	}
	letter := map[string]any{"unreadable_stream_record": map[string]any{"event_id": r.EventID, "event_name": r.EventName,
		"stream_arn": r.EventSourceArn, "sequence_number": r.Change.SequenceNumber, "keys": r.Change.Keys}, "error": reason.Error()}
	if whole, err := json.Marshal(r); err == nil && len(whole) <= maxDeadRecord {
		letter["record"] = json.RawMessage(whole)
	}
	body, err := json.Marshal(letter)
	if err != nil {
		return err
	}
	if err := h.dead.Send(ctx, queue.Message{Body: string(body)}); err != nil {
		return fmt.Errorf("events: dead-letter record %s: %w", r.EventID, err)
	}
	return nil
}

// Handle derives the batch's events in record order (a shard is in write
// order, so a conversation's messages arrive in seq order), publishes
// them, then routes them to the webhooks' ordered queue in the same
// order. A failure reports the batch's first record: Lambda delivers the
// whole batch again, whose events get the same ids (bus consumers
// deduplicate by id; the webhook queue drops them by deduplication id
// and the deliveries are written once), and after MaximumRetryAttempts
// sends it to the dead-letter queue.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var evs []tevents.Event
	failed := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	if len(ev.Records) > 0 {
		failed.BatchItemFailures = append(failed.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[0].Change.SequenceNumber})
	}
	for _, r := range ev.Records {
		c, ok, err := dynamo.StreamChange(r)
		if err == nil && ok {
			var derived []tevents.Event
			if derived, err = tevents.Derive(c); err == nil {
				evs = append(evs, derived...)
			}
		}
		if err != nil {
			// Unreadable: retrying cannot help, and holding the shard
			// would stop every later event behind it. It goes to the
			// dead-letter queue (alarmed); if that fails, the batch is
			// retried (its events keep their ids).
			if err := h.deadLetter(ctx, r, err); err != nil {
				h.log.ErrorContext(ctx, "events: dead letter failed", "err", err.Error())
				return failed, nil
			}
		}
	}
	if err := h.pub.Publish(ctx, evs); err != nil {
		h.log.ErrorContext(ctx, "events: publish failed", "records", len(ev.Records), "events", len(evs), "err", err.Error())
		return failed, nil
	}
	if h.route != nil {
		if err := h.route.Route(ctx, evs); err != nil {
			h.log.ErrorContext(ctx, "events: webhook routing failed", "records", len(ev.Records), "events", len(evs), "err", err.Error())
			return failed, nil
		}
	}
	h.log.DebugContext(ctx, "events: published", "records", len(ev.Records), "events", len(evs))
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
}
