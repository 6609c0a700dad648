// Package memqueue is an in-memory stand-in for one SQS standard queue, for
// the fast test tier (go test with no emulator): it takes what the use
// cases send (queue.BatchSender, queue.Sender) and hands messages to a
// poller as Lambda's event source mapping receives them from SQS, with a
// visibility timeout, receive counts and a redrive policy to a dead-letter
// queue. It keeps SQS's observable rules that the workers depend on:
// at-least-once delivery, a message received again only after its
// visibility timeout, ApproximateReceiveCount, and a move to the
// dead-letter queue once received maxReceiveCount times.
package memqueue

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
)

// MaxBodyBytes is SQS's message size limit (256 KiB).
const MaxBodyBytes = 256 * 1024

// Queue is one queue. The zero value is not usable: call New.
type Queue struct {
	name string
	now  func() time.Time

	mu      sync.Mutex
	msgs    []*message // in send order; SQS standard queues are only roughly ordered
	nextID  int
	dlq     *Queue
	maxRecv int
}

type message struct {
	id, body   string
	visibleAt  time.Time
	receives   int
	handle     string // receipt handle of the latest receive
	firstRecvd time.Time
}

// Options configure a queue.
type Options struct {
	// DeadLetter receives a message once it has been received
	// MaxReceiveCount times without being deleted (the redrive policy).
	DeadLetter      *Queue
	MaxReceiveCount int
	// Now is the clock (nil: time.Now); tests move it to expire
	// visibility timeouts without sleeping.
	Now func() time.Time
}

// New returns an empty queue.
func New(name string, o Options) *Queue {
	q := &Queue{name: name, now: o.Now, dlq: o.DeadLetter, maxRecv: o.MaxReceiveCount}
	if q.now == nil {
		q.now = time.Now
	}
	return q
}

var (
	_ queue.BatchSender = (*Queue)(nil)
	_ queue.Sender      = (*Queue)(nil)
)

// SendBatch enqueues up to queue.MaxBatch messages. Entries SQS would
// refuse (an empty or oversized body) are returned as permanent refusals,
// the rest are taken, as SendMessageBatch does.
func (q *Queue) SendBatch(ctx context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(msgs) == 0 || len(msgs) > queue.MaxBatch {
		return nil, fmt.Errorf("memqueue %s: a batch holds 1 to %d messages, got %d", q.name, queue.MaxBatch, len(msgs))
	}
	var refused []queue.Refused
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range msgs {
		if m.Body == "" || len(m.Body) > MaxBodyBytes {
			refused = append(refused, queue.Refused{Index: i, Permanent: true, Code: "InvalidParameterValue"})
			continue
		}
		q.put(m)
	}
	return refused, nil
}

// Send enqueues one message.
func (q *Queue) Send(ctx context.Context, m queue.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.Body == "" || len(m.Body) > MaxBodyBytes {
		return fmt.Errorf("memqueue %s: body of %d bytes refused", q.name, len(m.Body))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.put(m)
	return nil
}

func (q *Queue) put(m queue.Message) {
	q.nextID++
	q.msgs = append(q.msgs, &message{id: fmt.Sprintf("%s-%d", q.name, q.nextID), body: m.Body,
		visibleAt: q.now().Add(m.Delay.Truncate(time.Second))})
}

// Received is one message handed to a poller.
type Received struct {
	queue.Record
	Handle string // receipt handle, for Delete
}

// Receive returns up to max visible messages and hides them for
// visibility. A message already received MaxReceiveCount times is moved
// to the dead-letter queue instead of being returned, as SQS's redrive
// does.
func (q *Queue) Receive(max int, visibility time.Duration) []Received {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	var out []Received
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if len(out) == max || m.visibleAt.After(now) {
			kept = append(kept, m)
			continue
		}
		if q.dlq != nil && q.maxRecv > 0 && m.receives >= q.maxRecv {
			q.dlq.mu.Lock()
			q.dlq.msgs = append(q.dlq.msgs, &message{id: m.id, body: m.body, visibleAt: now})
			q.dlq.mu.Unlock()
			continue
		}
		m.receives++
		m.visibleAt = now.Add(visibility)
		m.handle = m.id + "#" + strconv.Itoa(m.receives)
		if m.receives == 1 {
			m.firstRecvd = now
		}
		kept = append(kept, m)
		out = append(out, Received{Handle: m.handle, Record: queue.Record{ID: m.id, Body: m.body, ReceiveCount: m.receives,
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives),
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstRecvd.UnixMilli(), 10)}}})
	}
	q.msgs = kept
	return out
}

// Delete removes the messages whose latest receipt handles are given
// (a stale handle, from before a later receive, deletes nothing, as on
// SQS once the message was received again) and returns how many went.
func (q *Queue) Delete(handles ...string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	want := map[string]bool{}
	for _, h := range handles {
		want[h] = true
	}
	n := 0
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if m.handle != "" && want[m.handle] {
			n++
			continue
		}
		kept = append(kept, m)
	}
	q.msgs = kept
	return n
}

// Len is how many messages the queue holds, visible or not.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Bodies are the bodies of every message held, in send order.
func (q *Queue) Bodies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, len(q.msgs))
	for i, m := range q.msgs {
		out[i] = m.body
	}
	return out
}
