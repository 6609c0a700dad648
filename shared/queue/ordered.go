package queue

// FIFO queues: SQS hands a message group's messages out in order and
// holds the group back while one of them is in flight. A worker keeps
// that order by processing a group's records one after another and, once
// one fails, starting none of the group's later records: they are
// reported failed with it (Lambda's rule for FIFO partial batch
// responses), come back at once (their visibility is set to 0), and wait
// behind the failed record, which comes back after its RetryDelay or the
// wait its processor asked for (RetryAfter). Other groups go on.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// GroupAttribute is the system attribute naming a FIFO message's group.
const GroupAttribute = "MessageGroupId"

// Grouped reports whether records come from a FIFO queue (they carry a
// message group).
func Grouped(records []Record) bool {
	return len(records) > 0 && records[0].Attributes[GroupAttribute] != ""
}

// retryAfter is RetryAfter's error.
type retryAfter struct {
	wait   time.Duration
	reason string
}

func (e *retryAfter) Error() string {
	return fmt.Sprintf("queue: retry in %v: %s", e.wait, e.reason)
}

// RetryAfter is a processor's answer for a record that is not done and
// should come back after wait (with a Redeliverer; without one, after the
// queue's visibility timeout). In a FIFO group it holds back the
// group's later records until then.
func RetryAfter(wait time.Duration, reason string) error {
	return &retryAfter{wait: max(wait, 0), reason: reason}
}

// IsRetryAfter reports whether err is RetryAfter's, and its wait.
func IsRetryAfter(err error) (time.Duration, bool) {
	var r *retryAfter
	if errors.As(err, &r) {
		return r.wait, true
	}
	return 0, false
}

// errBlocked marks a FIFO record whose group had a failure before it.
var errBlocked = fmt.Errorf("%w: an earlier record of its message group failed", errNotStarted)

// runOrdered runs each group's records in order, groups at most
// r.Parallel at a time. Malformed records are dropped and do not stop
// their group.
func (r *Runner) runOrdered(work context.Context, records []Record) []error {
	var order []string
	groups := map[string][]int{}
	for i, rec := range records {
		g := rec.Attributes[GroupAttribute]
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	outcome := make([]error, len(records))
	sem := make(chan struct{}, max(r.Parallel, 1))
	var wg sync.WaitGroup
	for _, g := range order {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-work.Done():
			}
			blocked := false
			for _, i := range groups[g] {
				switch {
				case blocked:
					outcome[i] = errBlocked
				case work.Err() != nil:
					outcome[i] = fmt.Errorf("%w: %w", errNotStarted, work.Err())
					blocked = true
				default:
					outcome[i] = r.safely(work, records[i])
					blocked = outcome[i] != nil && !IsMalformed(outcome[i])
				}
			}
		})
	}
	wg.Wait()
	return outcome
}
