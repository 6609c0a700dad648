package webhooks

// The delivery worker's logic (functions/webhookworker). It reads two
// queues:
//   - WebhookEventQueue (SQS FIFO), fed by the events function
//     (route.go): one event for one endpoint per message, grouped per
//     endpoint and conversation (or group, user, job). A delivery is
//     written once per (endpoint, event id) and attempted at once; a
//     retryable failure keeps the message, which comes back when the
//     schedule's next attempt is due (its visibility is set to the
//     wait), and FIFO holds the group's later events back until it is
//     delivered or dead-lettered: a receiver that answers gets one
//     endpoint's events of one conversation in order (Ordered).
//   - WebhookQueue (standard): attempt tasks for one delivery, queued by
//     a retry or a replay (service.go) and by the retries of those. SQS
//     delays a message at most 15 minutes: a task that comes back
//     before its delivery's NextAt is queued again with the rest of the
//     wait (chained), so the 10-hour steps cost 40 short hops, not a
//     scheduler. It also takes events in the former shape (an
//     EventBridge event from the bus rule that fed it before the FIFO
//     queue), fanned out to every endpoint that wants them (Event), so
//     messages queued before an upgrade are still delivered.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
)

// MaxQueueDelay is SQS's longest DelaySeconds.
const MaxQueueDelay = 15 * time.Minute

// task is an attempt task's body.
type task struct {
	Task *struct {
		EndpointID string `json:"endpoint_id"`
		DeliveryID string `json:"delivery_id"`
	} `json:"webhook_task"`
	// Detail is set on an EventBridge event instead.
	Detail json.RawMessage `json:"detail"`
	eventMessage
}

// TaskBody is the queue message asking for an attempt of one delivery.
func TaskBody(endpointID, deliveryID string) string {
	b, _ := json.Marshal(map[string]map[string]string{"webhook_task": {"endpoint_id": endpointID, "delivery_id": deliveryID}})
	return string(b)
}

// Worker makes deliveries.
type Worker struct {
	Store  Store
	Sender *Sender
	Tasks  queue.Sender // WebhookQueue
	Log    *slog.Logger
	// Schedule is the wait before each retry (nil: Schedule). Tests
	// inject seconds instead of hours.
	Schedule []time.Duration
	Now      func() time.Time // nil: time.Now
	// Parallel bounds the endpoints one event is attempted on at once.
	Parallel int
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// next is when attempt n+1 of a series is due, ok false when spent.
func (w *Worker) next(n int, last time.Time) (time.Time, bool) {
	s := w.Schedule
	if s == nil {
		s = Schedule
	}
	if n < 1 || n > len(s) {
		return time.Time{}, false
	}
	return last.Add(s[n-1]), true
}

// Process handles one queue message: an event for one endpoint, a task
// or a bus event. A body that is none of them is wrapped by
// queue.Malformed; a delivery whose next attempt is not due yet returns
// queue.RetryAfter.
func (w *Worker) Process(ctx context.Context, body string) error {
	var m task
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return queue.Malformed(err)
	}
	switch {
	case m.Event != nil:
		var ev events.Event
		if err := json.Unmarshal(m.Event.Event, &ev); err != nil || m.Event.EndpointID == "" || ev.ID == "" || !events.Known(ev.Type) || ev.Time.IsZero() {
			return queue.Malformed(fmt.Errorf("%w: %v", errNotEvent, err))
		}
		return w.Ordered(ctx, m.Event.EndpointID, ev, m.Event.Event)
	case m.Task != nil:
		if m.Task.EndpointID == "" || !ValidDeliveryID(m.Task.DeliveryID) {
			return queue.Malformed(errors.New("webhooks: task without endpoint or delivery id"))
		}
		return w.Attempt(ctx, m.Task.EndpointID, m.Task.DeliveryID)
	case len(m.Detail) > 0:
		var ev events.Event
		if err := json.Unmarshal(m.Detail, &ev); err != nil || ev.ID == "" || !events.Known(ev.Type) || ev.Time.IsZero() {
			return queue.Malformed(fmt.Errorf("webhooks: event detail: %v", err))
		}
		return w.Event(ctx, ev, m.Detail)
	}
	return queue.Malformed(errors.New("webhooks: neither an event nor a task"))
}

// Event fans ev out: one delivery per endpoint that wants it. Handling
// the same event again (a redelivered message) finds the deliveries
// written and sends nothing new, except a first attempt a crash cut off.
func (w *Worker) Event(ctx context.Context, ev events.Event, body []byte) error {
	eps, err := w.Store.ListEndpoints(ctx)
	if err != nil {
		return err
	}
	sem := make(chan struct{}, max(w.Parallel, 1))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, ep := range eps {
		if !ep.Wants(ev.Type) {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := w.fanOut(ctx, ep, ev, body); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("endpoint %s: %w", ep.ID, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (w *Worker) fanOut(ctx context.Context, ep Endpoint, ev events.Event, body []byte) error {
	d, created, err := w.create(ctx, ep, ev, body)
	if err != nil {
		return err
	}
	// Only a first attempt that never happened is made again; the
	// rest is in the hands of the task queued after that attempt.
	if d.State != StatePending || !created && len(d.Attempts) > d.Round {
		return nil
	}
	return w.attempt(ctx, ep, d)
}

// create writes ev's delivery to ep (skipped if ep is disabled) unless
// it exists, and returns the stored one.
func (w *Worker) create(ctx context.Context, ep Endpoint, ev events.Event, body []byte) (Delivery, bool, error) {
	now := w.now().UTC()
	d := Delivery{EndpointID: ep.ID, ID: DeliveryID(ev), EventID: ev.ID, Type: ev.Type, EventTime: ev.Time.UTC(), Body: body,
		State: StatePending, NextAt: now, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(DeliveryRetention).Unix(), Version: 1}
	if ep.Disabled {
		d.State, d.NextAt = StateSkipped, time.Time{}
	}
	created, err := w.Store.CreateDelivery(ctx, d)
	if err != nil || created {
		return d, created, err
	}
	d, err = w.Store.GetDelivery(ctx, ep.ID, d.ID)
	return d, false, err
}

// Ordered handles a WebhookEventQueue message: ev for one endpoint. It
// returns nil once the delivery is settled (delivered, dead-lettered,
// skipped, or the endpoint is gone or no longer wants the type), which
// lets the FIFO group's next event go; while an attempt is due later it
// returns queue.RetryAfter with the wait, which keeps the group's later
// events behind it.
func (w *Worker) Ordered(ctx context.Context, endpointID string, ev events.Event, body []byte) error {
	ep, err := w.Store.GetEndpoint(ctx, endpointID)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted
	}
	if err != nil {
		return err
	}
	if !ep.Wants(ev.Type) {
		return nil // its subscription changed since the event was routed
	}
	d, _, err := w.create(ctx, ep, ev, body)
	if err != nil {
		return err
	}
	if d.State != StatePending {
		return nil
	}
	if wait := d.NextAt.Sub(w.now()); wait >= time.Second {
		return queue.RetryAfter(wait, "next attempt not due")
	}
	if ep.Disabled {
		return w.skip(ctx, d)
	}
	d, recorded, err := w.try(ctx, ep, d)
	switch {
	case err != nil:
		return err
	case !recorded:
		// Another worker recorded an attempt (a retry's task): read its
		// outcome when this message comes back.
		return queue.RetryAfter(time.Second, "delivery changed concurrently")
	case d.State == StatePending:
		return queue.RetryAfter(d.NextAt.Sub(w.now()), "attempt failed, retried on the schedule")
	}
	return nil
}

// Attempt handles a task: the delivery's attempt, if it is still due.
func (w *Worker) Attempt(ctx context.Context, endpointID, deliveryID string) error {
	d, err := w.Store.GetDelivery(ctx, endpointID, deliveryID)
	if errors.Is(err, ErrNotFound) {
		return nil // expired
	}
	if err != nil {
		return err
	}
	if d.State != StatePending {
		return nil // done already (a duplicate task)
	}
	if wait := d.NextAt.Sub(w.now()); wait >= time.Second {
		return w.queue(ctx, d, wait) // the next hop of a long wait
	}
	ep, err := w.Store.GetEndpoint(ctx, endpointID)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted: its deliveries expire
	}
	if err != nil {
		return err
	}
	if ep.Disabled {
		return w.skip(ctx, d)
	}
	return w.attempt(ctx, ep, d)
}

// skip records d as skipped (its endpoint is disabled).
func (w *Worker) skip(ctx context.Context, d Delivery) error {
	prev := d.Version
	d.State, d.NextAt, d.UpdatedAt = StateSkipped, time.Time{}, w.now().UTC()
	d.Version++
	if err := w.Store.UpdateDelivery(ctx, d, prev); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// attempt makes one attempt of d (try) and, while it stays pending,
// queues the task that brings the next one.
func (w *Worker) attempt(ctx context.Context, ep Endpoint, d Delivery) error {
	d, recorded, err := w.try(ctx, ep, d)
	if err != nil || !recorded || d.State != StatePending {
		return err
	}
	return w.queue(ctx, d, d.NextAt.Sub(w.now()))
}

// try makes one attempt of d and records it, with the next attempt's
// time while it stays pending; the write is conditional on the version
// read, so of two workers racing on one delivery only one records (and
// schedules) what follows (recorded false for the other). A final
// outcome is settled on the endpoint (the disable threshold).
func (w *Worker) try(ctx context.Context, ep Endpoint, d Delivery) (Delivery, bool, error) {
	o := w.Sender.Attempt(ctx, ep.URL, ep.Keys, d.EventID, d.Body, w.now())
	prev := d.Version
	d.Attempts = append(d.Attempts, o)
	if n := len(d.Attempts) - MaxAttemptsKept; n > 0 {
		d.Attempts, d.Round = d.Attempts[n:], max(d.Round-n, 0)
	}
	d.UpdatedAt, d.Version = w.now().UTC(), d.Version+1
	switch due, ok := w.next(len(d.Attempts)-d.Round, o.At); {
	case o.OK:
		d.State, d.NextAt = StateDelivered, time.Time{}
	case o.Retry && ok:
		d.State, d.NextAt = StatePending, due
	default:
		d.State, d.NextAt = StateDead, time.Time{}
	}
	if err := w.Store.UpdateDelivery(ctx, d, prev); errors.Is(err, ErrConflict) {
		return d, false, nil // another worker recorded this attempt
	} else if err != nil {
		return d, false, err
	}
	w.Log.InfoContext(ctx, "webhook attempt", "endpoint_id", ep.ID, "delivery_id", d.ID, "event_type", string(d.Type),
		"status", o.Status, "error", o.Error, "duration_ms", o.Duration.Milliseconds(), "state", string(d.State))
	if d.State == StatePending || d.State == StateDelivered && ep.DeadStreak == 0 {
		return d, true, nil // a success on a clean streak changes nothing: no read, no write
	}
	return d, true, w.settle(ctx, ep.ID, d.State == StateDelivered)
}

// queue sends d's task with a delay of at most MaxQueueDelay.
func (w *Worker) queue(ctx context.Context, d Delivery, wait time.Duration) error {
	wait = min(max(wait, 0), MaxQueueDelay).Round(time.Second)
	return w.Tasks.Send(ctx, queue.Message{Body: TaskBody(d.EndpointID, d.ID), Delay: wait})
}

// settle records a final outcome on the endpoint (the disable threshold).
// A success on a clean streak writes nothing.
func (w *Worker) settle(ctx context.Context, id string, delivered bool) error {
	for range 5 {
		ep, err := w.Store.GetEndpoint(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if delivered && ep.DeadStreak == 0 {
			return nil
		}
		prev := ep.Version
		nowDisabled := ep.Settled(delivered)
		ep.Version++
		ep.UpdatedAt = w.now().UTC().Truncate(time.Millisecond)
		err = w.Store.UpdateEndpoint(ctx, ep, prev)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err == nil && nowDisabled {
			w.Log.WarnContext(ctx, "webhook endpoint disabled", "endpoint_id", id, "dead_streak", ep.DeadStreak)
		}
		return err
	}
	return fmt.Errorf("webhooks: endpoint %s kept changing while settling", id)
}
