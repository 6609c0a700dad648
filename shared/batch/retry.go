package batch

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff retries what only this package can retry: ErrConflict, a write
// that lost a race on the job record, or queue entries SQS refused
// (unprocessed DynamoDB keys are the adapter's to retry). Every other error,
// throttling and 5xx included, is returned at once: the SDK's retryer
// (awsclient.DefaultPolicy) has already retried it, and retrying again
// here would multiply the attempts per operation. Delays are exponential
// with full jitter (a random time in [0, min(Cap, Base*2^attempt))), at
// most Attempts tries, never past the context's deadline.
type Backoff struct {
	Attempts int
	Base     time.Duration
	Cap      time.Duration
}

// DefaultBackoff: 8 tries spread over about 3 s.
var DefaultBackoff = Backoff{Attempts: 8, Base: 25 * time.Millisecond, Cap: time.Second}

// Do runs op until it succeeds, fails with anything but ErrConflict, or
// the attempts run out.
func (b Backoff) Do(ctx context.Context, op func() error) error {
	var err error
	for attempt := 0; attempt < b.Attempts; attempt++ {
		if err = op(); !errors.Is(err, ErrConflict) || errors.Is(err, context.Canceled) {
			return err
		}
		if attempt == b.Attempts-1 {
			break
		}
		d := b.Base << attempt
		if d > b.Cap || d <= 0 {
			d = b.Cap
		}
		t := time.NewTimer(rand.N(d) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	return err
}
