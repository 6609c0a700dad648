package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/signup"
)

// NewHandler returns the worker: each SQS record is one queued sign-up.
// The reply lists the records to retry; a record that can never succeed
// (malformed, or an id that is another identity's) is counted and not
// retried.
func NewHandler(svc *signup.Service, log *slog.Logger) batch.SQSHandlerFunc {
	return batch.SQSHandler(log, 10, func(ctx context.Context, m events.SQSMessage) error {
		r, err := signup.DecodeRequest([]byte(m.Body))
		if err != nil {
			svc.Malformed(ctx, m.MessageId, err)
			return nil
		}
		return svc.Retry(ctx, r)
	})
}
