package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/realtime"
)

// Processor runs one fan-out job (*realtime.Notifier).
type Processor interface {
	Process(ctx context.Context, j realtime.Job) error
}

// Handler consumes FanoutQueue. Each record is one job; records run in
// parallel (each push batch is bounded by the notifier's concurrency).
// A record whose job fails is reported in batchItemFailures, so SQS
// redelivers only that record (FunctionResponseTypes:
// ReportBatchItemFailures in the template); after 5 receives it goes to
// FanoutDeadLetterQueue.
type Handler struct {
	jobs Processor
	log  *slog.Logger
}

// NewHandler builds the handler.
func NewHandler(p Processor, log *slog.Logger) *Handler { return &Handler{jobs: p, log: log} }

// Handle processes a batch of fan-out jobs.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var mu sync.Mutex
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var wg sync.WaitGroup
	for _, rec := range ev.Records {
		wg.Go(func() {
			if err := h.one(ctx, rec); err != nil {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

func (h *Handler) one(ctx context.Context, rec events.SQSMessage) error {
	var j realtime.Job
	if err := json.Unmarshal([]byte(rec.Body), &j); err != nil {
		// Left to fail until the dead-letter queue keeps it for inspection.
		h.log.ErrorContext(ctx, "fan-out job unreadable", "message_id", rec.MessageId, "err", err.Error())
		return err
	}
	if err := h.jobs.Process(ctx, j); err != nil {
		h.log.ErrorContext(ctx, "fan-out job failed", "message_id", rec.MessageId, "kind", j.Kind, "group_id", j.Group, "err", err.Error())
		return err
	}
	h.log.InfoContext(ctx, "fan-out job done", "message_id", rec.MessageId, "kind", j.Kind, "group_id", j.Group, "users", len(j.Users)+len(j.Targets))
	return nil
}
