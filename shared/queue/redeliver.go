package queue

import (
	"context"
	"time"
)

// Redelivery says when one failed record should be delivered again.
type Redelivery struct {
	Record Record
	After  time.Duration
}

// Redeliverer sets when failed records come back (on SQS, by changing
// their visibility timeout). Without one, a failed record comes back when
// the queue's visibility timeout ends: 6 x the function's timeout, minutes
// for a record that failed in its first second.
type Redeliverer interface {
	Redeliver(ctx context.Context, rs []Redelivery) error
}

// The redelivery schedule of a record that failed: RetryBase after its
// first delivery, 4 x longer after each further one, at most RetryCap.
// With a redrive policy of 5 receives a record is tried over about
// 2.8 minutes (2 + 8 + 32 + 128 s) before the dead-letter queue, instead
// of 4 x the visibility timeout. A record the invocation had no time to
// start did not fail: it comes back at once.
const (
	RetryBase = 2 * time.Second
	RetryCap  = 5 * time.Minute
)

// RetryDelay is the redelivery delay of a record that failed on its
// receiveCount-th delivery (0 when unknown counts as the first).
func RetryDelay(receiveCount int) time.Duration {
	d := RetryBase
	for n := 1; n < receiveCount && d < RetryCap; n++ {
		d *= 4
	}
	return min(d, RetryCap)
}
