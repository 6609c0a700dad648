package realtime

import (
	"context"
	"errors"
)

// ErrGone means the connection is closed (the management API's 410).
var ErrGone = errors.New("realtime: connection gone")

// ErrRefused means the gateway refused the push for good (a 4xx other
// than 410 or 429): pushing the same frame again cannot succeed.
var ErrRefused = errors.New("realtime: push refused")

// Pusher talks to one connection at a time (apigw.Pusher is one). Its
// errors wrap ErrGone or ErrRefused where those apply.
type Pusher interface {
	// Push posts data to the connection; a closed connection is ErrGone.
	Push(ctx context.Context, connID string, data []byte) error
	// Close disconnects the connection (API Gateway then runs $disconnect);
	// an already closed one is not an error.
	Close(ctx context.Context, connID string) error
}

// Retryable reports whether a failed push may succeed later: throttling,
// 5xx and transport errors are; a closed connection, a refusal and a
// cancelled request are not.
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, ErrGone) && !errors.Is(err, ErrRefused) && !errors.Is(err, context.Canceled)
}
