package main

import (
	"context"
	"log/slog"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/webhooks"
)

// NewHandler returns the worker: each SQS record is an event from the
// bus or an attempt task. A record that failed (a store error) comes
// back after queue.RetryDelay and is handled again: deliveries are
// idempotent per (endpoint, event id), so no second distinct event is
// sent.
func NewHandler(w *webhooks.Worker, log *slog.Logger, rd queue.Redeliverer) lambdasqs.HandlerFunc {
	return lambdasqs.Handler(&queue.Runner{Name: "webhookworker", Log: log, Redeliver: rd, Parallel: 10,
		Process: func(ctx context.Context, r queue.Record) error { return w.Process(ctx, r.Body) }})
}
