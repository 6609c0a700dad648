package main

import (
	"context"
	"log/slog"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/signup"
)

// NewHandler returns the worker: each SQS record is one queued sign-up.
// The reply lists the records to retry; a record that can never succeed
// (malformed, or an id that is another identity's) is counted
// (SignupFailures) and not retried.
func NewHandler(svc *signup.Service, log *slog.Logger, rd queue.Redeliverer) lambdasqs.HandlerFunc {
	return lambdasqs.Handler(&queue.Runner{Name: "signupworker", Log: log, Redeliver: rd, Parallel: 10, Process: func(ctx context.Context, r queue.Record) error {
		req, err := signup.DecodeRequest([]byte(r.Body))
		if err != nil {
			svc.Malformed(ctx, r.ID, err) // the SignupFailures metric
			return queue.Malformed(err)
		}
		return svc.Retry(ctx, req)
	}})
}
