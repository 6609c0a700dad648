package webhooks

// Endpoints and what happens to them: which events an endpoint gets, the
// disable threshold and re-enabling, and which events a replay of a time
// range re-sends. The store is store.go's port, the admin use cases
// service.go, the delivery worker's logic worker.go.

import (
	"fmt"
	"slices"
	"time"

	"github.com/tokenim/tokenim/shared/events"
)

// MaxTypes bounds an endpoint's subscription list.
const MaxTypes = 50

// Endpoint is one registered receiver.
type Endpoint struct {
	ID    string
	URL   string
	Types []events.Type // empty: every type
	Keys  Keys
	// Disabled endpoints get no attempts; their deliveries wait, to be
	// replayed once an admin re-enables them.
	Disabled bool
	// DeadStreak counts dead-lettered deliveries since the last success.
	DeadStreak int

	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version counts writes: every update is conditional on the version
	// read, so two writers (an admin's PATCH, a worker settling a
	// delivery) never overwrite each other.
	Version int64
}

// CheckTypes validates a subscription list: known types, no repeats.
func CheckTypes(ts []events.Type) error {
	if len(ts) > MaxTypes {
		return fmt.Errorf("webhooks: at most %d event types", MaxTypes)
	}
	for i, t := range ts {
		if !events.Known(t) {
			return fmt.Errorf("webhooks: unknown event type %q", t)
		}
		if slices.Contains(ts[:i], t) {
			return fmt.Errorf("webhooks: event type %q listed twice", t)
		}
	}
	return nil
}

// Wants reports whether e goes to the endpoint.
func (e Endpoint) Wants(t events.Type) bool {
	return len(e.Types) == 0 || slices.Contains(e.Types, t)
}

// Settled records a delivery's final result: a success resets the
// streak; a dead-lettered one extends it, and the DisableAfter-th in a
// row disables the endpoint. It reports whether this call disabled it.
func (e *Endpoint) Settled(delivered bool) (disabled bool) {
	if delivered {
		e.DeadStreak = 0
		return false
	}
	e.DeadStreak++
	if !e.Disabled && e.DeadStreak >= DisableAfter {
		e.Disabled = true
		return true
	}
	return false
}

// Enable re-enables the endpoint with a clean streak.
func (e *Endpoint) Enable() { e.Disabled, e.DeadStreak = false, 0 }

// MaxReplay bounds a replay's time range: events are kept on the
// delivery records for as long (the stream itself holds 24 h).
const MaxReplay = 14 * 24 * time.Hour

// Replay selects, from evs, the events an endpoint wants with a time in
// [from, to), in time order; a range that is empty, reversed or longer
// than MaxReplay is refused.
func (e Endpoint) Replay(evs []events.Event, from, to time.Time) ([]events.Event, error) {
	if !from.Before(to) || to.Sub(from) > MaxReplay {
		return nil, fmt.Errorf("webhooks: replay range must be non-empty and at most %v", MaxReplay)
	}
	var out []events.Event
	for _, ev := range evs {
		if e.Wants(ev.Type) && !ev.Time.Before(from) && ev.Time.Before(to) {
			out = append(out, ev)
		}
	}
	slices.SortStableFunc(out, func(a, b events.Event) int { return a.Time.Compare(b.Time) })
	return out, nil
}
