package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/signup"
)

// Handler is the Cognito PostConfirmation trigger.
type Handler struct {
	svc *signup.Service
	log *slog.Logger
}

// NewHandler builds the trigger.
func NewHandler(svc *signup.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// Handle returns the event unchanged, always: an error (or a panic) here
// would make Cognito fail the user's sign-up, and chat must never do that.
func (h *Handler) Handle(ctx context.Context, ev events.CognitoEventUserPoolsPostConfirmation) (out events.CognitoEventUserPoolsPostConfirmation, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(ctx, "sign-up trigger panicked; the sign-up goes on", "panic", slog.AnyValue(p).String())
			out, err = ev, nil
		}
	}()
	h.svc.Confirmed(ctx, signup.Confirmation{TriggerSource: ev.TriggerSource, UserPoolID: ev.UserPoolID, Attributes: ev.Request.UserAttributes})
	return ev, nil
}
