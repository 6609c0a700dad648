package events

// Putting events on the bus. EventBridge's PutEvents takes up to 10
// entries per call and may refuse some of them (throttling, an internal
// error) while accepting the rest; refused entries are put again. Events
// with the same Key (a conversation's messages) are put in order: a call
// carries at most one event per key, and an event is put only after the
// one before it with its key was accepted.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxBatch is PutEvents' limit of entries per call.
const MaxBatch = 10

// Bus puts events; it returns, for each event, nil or why it was refused
// (a refusal worth putting again), or an error for the whole call.
type Bus interface {
	Put(ctx context.Context, evs []Event) ([]error, error)
}

// Publisher puts events on a Bus.
type Publisher struct {
	Bus Bus
	// Attempts bounds how often one event is put (default 5); Backoff is
	// the wait before the second attempt, doubled each time (default
	// 100 ms). After the last attempt Publish fails, and the stream
	// consumer's retry (docs/events.md, "Delivery") takes over.
	Attempts int
	Backoff  time.Duration
}

// ErrRefused is returned when an event was still refused after the last
// attempt.
var ErrRefused = errors.New("events: bus refused an event")

// Publish puts evs, in order per key, until every one is accepted. On an
// error some may have been put; putting them all again is safe, since a
// consumer deduplicates by id.
func (p *Publisher) Publish(ctx context.Context, evs []Event) error {
	attempts := p.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	backoff := p.Backoff
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	pending := evs
	tries := map[string]int{}
	for len(pending) > 0 {
		call, rest := nextCall(pending)
		refused, err := p.Bus.Put(ctx, call)
		if err != nil {
			return fmt.Errorf("events: put: %w", err)
		}
		if len(refused) != len(call) {
			return fmt.Errorf("events: put: %d results for %d entries", len(refused), len(call))
		}
		var again []Event
		for i, e := range call {
			if refused[i] == nil {
				continue
			}
			tries[e.ID]++
			if tries[e.ID] >= attempts {
				return fmt.Errorf("%w: %s %s after %d attempts: %w", ErrRefused, e.Type, e.ID, attempts, refused[i])
			}
			again = append(again, e)
		}
		if len(again) > 0 {
			if err := sleep(ctx, backoff<<(tries[again[0].ID]-1)); err != nil {
				return err
			}
		}
		pending = merge(again, rest, evs)
	}
	return nil
}

// nextCall takes up to MaxBatch events, the first of each key among the
// pending ones, in order; the rest keep their order.
func nextCall(pending []Event) (call, rest []Event) {
	seen := map[string]bool{}
	for _, e := range pending {
		if len(call) < MaxBatch && !seen[e.Key] {
			seen[e.Key] = true
			call = append(call, e)
			continue
		}
		seen[e.Key] = true
		rest = append(rest, e)
	}
	return call, rest
}

// merge puts the refused events back among the rest in their original
// order (evs), so each stays ahead of the later events of its key.
func merge(again, rest, evs []Event) []Event {
	if len(again) == 0 {
		return rest
	}
	want := map[string]bool{}
	for _, e := range again {
		want[e.ID] = true
	}
	for _, e := range rest {
		want[e.ID] = true
	}
	out := make([]Event, 0, len(want))
	for _, e := range evs {
		if want[e.ID] {
			out = append(out, e)
			delete(want, e.ID)
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
