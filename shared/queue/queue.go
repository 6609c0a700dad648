// Package queue runs the records of one queue delivery (an SQS batch)
// through a per-record processor. It knows nothing of AWS: the Lambda
// adapter (queue/lambdasqs) turns an SQS event into Records and the
// failed ids back into a partial batch response.
//
// The rules every queue worker gets from Run:
//   - partial failure: only the records that failed are reported, each
//     once, so the queue redelivers exactly those;
//   - panic isolation: a panic fails its own record only;
//   - deadline margin: no record starts within Margin of the invocation's
//     deadline, and records not done by then are reported failed, so the
//     function answers before its timeout (a timeout would redeliver the
//     whole batch, records already finished included);
//   - malformed records (the processor returns an error wrapped by
//     Malformed) are logged, counted and dropped: a redelivery could not
//     make them readable;
//   - prompt retries: with a Redeliverer, a failed record comes back
//     after RetryDelay (seconds, growing with each receive), or after the
//     wait its processor asked for (RetryAfter), and one the invocation
//     had no time to start comes back at once, instead of after the
//     queue's visibility timeout (redeliver.go);
//   - FIFO order: records with a message group (SQS FIFO queues) run one
//     after another within their group, groups side by side; after a
//     record of a group fails, the group's later records are not started
//     and are reported failed too, so the queue hands the group back in
//     its order (ordered.go).
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Record is one queued message.
type Record struct {
	ID           string            // the queue's message id (what a failure names)
	Body         string            // the message as sent
	Attributes   map[string]string // the queue's system attributes
	ReceiveCount int               // deliveries so far, this one included (0 if unknown)
	Source       string            // the queue it came from (on SQS, its ARN)
	Receipt      string            // this delivery's handle (on SQS, the receipt handle)
}

// Processor handles one record. nil: done (the record is deleted); an
// error: redeliver it later; an error wrapped by Malformed: drop it.
type Processor func(ctx context.Context, r Record) error

// DefaultMargin is kept free at the end of an invocation.
const DefaultMargin = 5 * time.Second

// Runner runs deliveries. The zero values of Parallel and Margin take
// the defaults (1 and DefaultMargin).
type Runner struct {
	Name     string // worker name, on every log line
	Log      *slog.Logger
	Parallel int           // records processed at once
	Margin   time.Duration // kept free before the deadline
	Process  Processor
	// Redeliver, when set, schedules each failed record's next delivery
	// (nil: the queue's visibility timeout decides).
	Redeliver Redeliverer
}

// Result is one delivery's outcome.
type Result struct {
	Failed    []string // ids to redeliver, each once, in record order
	Malformed int      // records dropped as unreadable
}

// errNotStarted marks records the invocation had no time to start.
var errNotStarted = errors.New("queue: not started before the deadline margin")

// errMalformed marks errors wrapped by Malformed.
var errMalformed = errors.New("queue: malformed message")

// Malformed wraps err (the reason a body cannot be read) so Run drops the
// record instead of redelivering it.
func Malformed(err error) error { return fmt.Errorf("%w: %w", errMalformed, err) }

// IsMalformed reports whether err was wrapped by Malformed.
func IsMalformed(err error) bool { return errors.Is(err, errMalformed) }

// Run processes records, at most r.Parallel at a time, and returns the
// ones to redeliver. It never fails as a whole: that would redeliver the
// records that succeeded too. Records of a FIFO queue (with a message
// group) run in order per group (runOrdered).
func (r *Runner) Run(ctx context.Context, records []Record) Result {
	work, cancel := r.workContext(ctx)
	defer cancel()
	if Grouped(records) {
		outcome := r.runOrdered(work, records)
		res := r.report(ctx, records, outcome)
		r.redeliver(ctx, records, outcome, res.Failed)
		return res
	}
	parallel := max(r.Parallel, 1)
	outcome := make([]error, len(records))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, rec := range records {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-work.Done():
				outcome[i] = fmt.Errorf("%w: %w", errNotStarted, work.Err())
				return
			}
			defer func() { <-sem }()
			if err := work.Err(); err != nil { // no new work past the margin
				outcome[i] = fmt.Errorf("%w: %w", errNotStarted, err)
				return
			}
			outcome[i] = r.safely(work, rec)
		})
	}
	wg.Wait()
	res := r.report(ctx, records, outcome)
	r.redeliver(ctx, records, outcome, res.Failed)
	return res
}

// workContext is ctx ending Margin before its deadline: no record starts
// after that.
func (r *Runner) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	margin := r.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-margin))
	}
	return ctx, func() {}
}

// redeliver schedules the failed records' next delivery. It runs in the
// margin Run kept free; if it fails, the queue's visibility timeout still
// brings them back, later.
func (r *Runner) redeliver(ctx context.Context, records []Record, outcome []error, failed []string) {
	if r.Redeliver == nil || len(failed) == 0 {
		return
	}
	ids := make(map[string]bool, len(failed))
	for _, id := range failed {
		ids[id] = true
	}
	var rs []Redelivery
	for i, rec := range records {
		if !ids[rec.ID] || rec.Receipt == "" {
			continue
		}
		delete(ids, rec.ID) // once per id, like the failure report
		after := RetryDelay(rec.ReceiveCount)
		if wait, ok := IsRetryAfter(outcome[i]); ok {
			after = wait
		} else if errors.Is(outcome[i], errNotStarted) {
			after = 0
		}
		rs = append(rs, Redelivery{Record: rec, After: after})
	}
	if len(rs) == 0 {
		return
	}
	if err := r.Redeliver.Redeliver(ctx, rs); err != nil {
		r.Log.WarnContext(ctx, "redelivery schedule failed; the visibility timeout applies", "worker", r.Name,
			"records", len(rs), "err", err.Error())
	}
}

// report logs every failure and builds the result.
func (r *Runner) report(ctx context.Context, records []Record, outcome []error) Result {
	res := Result{Failed: []string{}}
	reported := map[string]bool{}
	for i, rec := range records {
		err := outcome[i]
		switch {
		case err == nil:
			continue
		case IsMalformed(err):
			res.Malformed++
			r.Log.ErrorContext(ctx, "malformed message dropped", "worker", r.Name, "message_id", rec.ID,
				"receive_count", rec.ReceiveCount, "bytes", len(rec.Body), "err", err.Error())
			continue
		}
		if _, later := IsRetryAfter(err); later || errors.Is(err, errBlocked) {
			r.Log.InfoContext(ctx, "message held back", "worker", r.Name, "message_id", rec.ID,
				"receive_count", rec.ReceiveCount, "err", err.Error())
		} else {
			r.Log.WarnContext(ctx, "message failed", "worker", r.Name, "message_id", rec.ID,
				"receive_count", rec.ReceiveCount, "err", err.Error())
		}
		if reported[rec.ID] {
			continue
		}
		if rec.ID == "" {
			// An empty identifier would fail the whole batch; SQS always
			// sets one, so this is only logged.
			r.Log.ErrorContext(ctx, "failed record without message id", "worker", r.Name)
			continue
		}
		reported[rec.ID] = true
		res.Failed = append(res.Failed, rec.ID)
	}
	r.Log.InfoContext(ctx, "queue batch", "worker", r.Name, "records", len(records),
		"failed", len(res.Failed), "malformed", res.Malformed)
	return res
}

// safely runs the processor, turning a panic into an error for that
// record only.
func (r *Runner) safely(ctx context.Context, rec Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("queue: panic: %v\n%s", p, debug.Stack())
		}
	}()
	return r.Process(ctx, rec)
}
