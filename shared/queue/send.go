package queue

import (
	"context"
	"time"
)

// The sending side of a queue, as the use cases see it: what they send
// (bodies, batched by their own rules) and what a refused entry is. The
// SQS adapter (shared/aws/sqsqueue) implements both senders; nothing here knows
// of AWS.

// MaxBatch is the most messages one SendBatch takes (SQS's limit).
const MaxBatch = 10

// Message is one message to send.
type Message struct {
	Body  string
	Delay time.Duration // held back this long before delivery (whole seconds; not on FIFO queues)
	// Group and DedupID are a FIFO queue's message group (messages of one
	// group are delivered in the order sent) and deduplication id (a
	// message sent again with the same id within 5 minutes is dropped).
	Group   string
	DedupID string
}

// Refused is an entry of a SendBatch that the queue did not take.
type Refused struct {
	Index     int    // into the messages sent
	Permanent bool   // the sender's fault: sending it again cannot succeed
	Code      string // the queue's reason, for logs
}

// BatchSender sends messages to one queue, several per call.
type BatchSender interface {
	// SendBatch sends up to MaxBatch messages in one call and returns
	// the entries the queue refused.
	SendBatch(ctx context.Context, msgs []Message) ([]Refused, error)
}

// Sender sends one message to one queue.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
