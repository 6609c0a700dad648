package signuptest

import (
	"context"
	"errors"

	"github.com/tokenim/tokenim/shared/users"
)

// ErrInjected is the error FailingStore's writes return: an internal
// error (not a client error), as a throttled DynamoDB write is.
var ErrInjected = errors.New("signuptest: injected: store unavailable")

// FailingStore wraps s so that PutUserIfAbsent (the sign-up's only write)
// fails at once with ErrInjected: the store-port version of FailingWrites,
// for either test backend.
func FailingStore(s users.Store) users.Store { return failing{s} }

type failing struct{ users.Store }

func (failing) PutUserIfAbsent(context.Context, users.User) (*users.User, error) {
	return nil, ErrInjected
}

// HangingStore wraps s so that PutUserIfAbsent never answers: it returns
// only when its context ends (a stalled store; the port version of
// HangingWrites).
func HangingStore(s users.Store) users.Store { return hanging{s} }

type hanging struct{ users.Store }

func (hanging) PutUserIfAbsent(ctx context.Context, _ users.User) (*users.User, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
