package signup

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tokenim/tokenim/shared/queue"
)

// Sender sends one message to SignupQueue (sqsqueue.Queue is one).
type Sender interface {
	Send(ctx context.Context, m queue.Message) error
}

// SenderQueue is the Queue on SignupQueue: one message per request, the
// request as JSON (what DecodeRequest reads back).
type SenderQueue struct {
	Sender Sender
}

// Enqueue sends one request.
func (q SenderQueue) Enqueue(ctx context.Context, r Request) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("signup: marshal request: %w", err)
	}
	if err := q.Sender.Send(ctx, queue.Message{Body: string(b)}); err != nil {
		return fmt.Errorf("signup: queue: %w", err)
	}
	return nil
}
