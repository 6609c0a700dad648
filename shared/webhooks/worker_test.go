package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/webhooks"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

var ctx = context.Background()

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type rig struct {
	store *memstore.Webhooks
	tasks *memqueue.Queue
	svc   *webhooks.Service
	w     *webhooks.Worker
	clk   *clock
}

func newRig(t *testing.T, schedule []time.Duration) *rig {
	t.Helper()
	clk := &clock{t: time.Now().UTC()}
	store := memstore.NewWebhooks()
	tasks := memqueue.New("WebhookQueue", memqueue.Options{Now: clk.Now})
	p := webhooks.Policy{AllowLoopback: true}
	s := webhooks.NewSender(p)
	s.Timeout = 300 * time.Millisecond
	return &rig{store: store, tasks: tasks, clk: clk, svc: webhooks.NewService(store, p, tasks, clk.Now),
		w: &webhooks.Worker{Store: store, Sender: s, Tasks: tasks, Schedule: schedule, Now: clk.Now,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

func (r *rig) endpoint(t *testing.T, url string) webhooks.Endpoint {
	t.Helper()
	e, _, err := r.svc.Create(ctx, webhooks.CreateInput{URL: url, Types: []string{"message.created"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// receive takes the visible tasks, processes them and deletes them.
func (r *rig) receive(t *testing.T) int {
	t.Helper()
	got := r.tasks.Receive(10, time.Minute)
	for _, m := range got {
		if err := r.w.Process(ctx, m.Body); err != nil {
			t.Fatal(err)
		}
		r.tasks.Delete(m.Handle)
	}
	return len(got)
}

// TestWorkerChainsLongWaits: a retry due in 20 minutes waits in two
// queue hops (SQS delays at most 15 minutes): the first hop's task finds
// the attempt not yet due and queues the rest of the wait.
func TestWorkerChainsLongWaits(t *testing.T) {
	recv := webhookstest.NewReceiver(t, http.StatusServiceUnavailable)
	r := newRig(t, []time.Duration{20 * time.Minute})
	e := r.endpoint(t, recv.URL)
	ev := webhookstest.Event(t, "c1", 1, r.clk.Now())
	if err := r.w.Process(ctx, webhookstest.BusMessage(t, ev)); err != nil {
		t.Fatal(err)
	}
	id := webhooks.DeliveryID(ev)
	for i, step := range []struct {
		advance  time.Duration
		tasks    int
		requests int
		state    webhooks.State
	}{
		{0, 0, 1, webhooks.StatePending},                // attempt 1 failed; the task is 15 min away
		{15 * time.Minute, 1, 1, webhooks.StatePending}, // hop: not due yet, queued again for 5 min
		{4 * time.Minute, 0, 1, webhooks.StatePending},
		{time.Minute, 1, 2, webhooks.StateDelivered}, // attempt 2 delivers
	} {
		r.clk.Add(step.advance)
		if n := r.receive(t); n != step.tasks {
			t.Fatalf("step %d: %d tasks, want %d", i, n, step.tasks)
		}
		d, err := r.store.GetDelivery(ctx, e.ID, id)
		if err != nil || len(recv.Requests()) != step.requests || d.State != step.state {
			t.Fatalf("step %d: %d requests, state %s (%v); want %d, %s", i, len(recv.Requests()), d.State, err, step.requests, step.state)
		}
	}
}

// TestWorkerDisablesAndReplays: final failures (410) dead-letter
// deliveries; the DisableAfter-th in a row disables the endpoint, whose
// next event is kept as skipped without a request; re-enabling resets
// the streak and a replay of the range sends the dead and skipped ones
// again, with their original ids.
func TestWorkerDisablesAndReplays(t *testing.T) {
	answers := make([]int, webhooks.DisableAfter)
	for i := range answers {
		answers[i] = http.StatusGone
	}
	recv := webhookstest.NewReceiver(t, answers...)
	r := newRig(t, []time.Duration{time.Millisecond})
	e := r.endpoint(t, recv.URL)
	t0 := r.clk.Now()
	for n := range webhooks.DisableAfter + 1 {
		if err := r.w.Process(ctx, webhookstest.BusMessage(t, webhookstest.Event(t, "c1", n, t0.Add(time.Duration(n)*time.Second)))); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := r.svc.Get(ctx, e.ID)
	if !got.Disabled || got.DeadStreak != webhooks.DisableAfter || len(recv.Requests()) != webhooks.DisableAfter {
		t.Fatalf("endpoint %+v after %d requests: want disabled after %d", got, len(recv.Requests()), webhooks.DisableAfter)
	}
	ds, _, _ := r.svc.Deliveries(ctx, e.ID, 0, "")
	if len(ds) != webhooks.DisableAfter+1 || ds[0].State != webhooks.StateSkipped || ds[1].State != webhooks.StateDead {
		t.Fatalf("deliveries %+v: want the newest skipped, the rest dead", ds)
	}
	if _, err := r.svc.Replay(ctx, e.ID, t0, t0.Add(time.Hour)); err == nil {
		t.Fatal("a disabled endpoint was replayed")
	}
	enabled := true
	if got, err := r.svc.Update(ctx, e.ID, webhooks.UpdateInput{Enabled: &enabled}); err != nil || got.Disabled || got.DeadStreak != 0 {
		t.Fatalf("re-enabled %+v, %v", got, err)
	}
	res, err := r.svc.Replay(ctx, e.ID, t0, t0.Add(time.Hour))
	if err != nil || res.Replayed != webhooks.DisableAfter+1 {
		t.Fatalf("replay %+v, %v", res, err)
	}
	for range 3 {
		r.receive(t)
	}
	ok := recv.Delivered()
	if len(ok) != webhooks.DisableAfter+1 {
		t.Fatalf("%d delivered after the replay, want %d", len(ok), webhooks.DisableAfter+1)
	}
	for i, q := range ok { // in event-time order, with the original ids
		if want := webhookstest.Event(t, "c1", i, t0).ID; q.Header.Get("webhook-id") != want {
			t.Errorf("replayed %d: id %s, want %s", i, q.Header.Get("webhook-id"), want)
		}
	}
}

// TestWorkerMalformed: a body that is neither an event nor a task is
// dropped, not retried.
func TestWorkerMalformed(t *testing.T) {
	r := newRig(t, nil)
	for _, body := range []string{"not json", `{}`, `{"detail":{"id":"evt_1","type":"message.deleted"}}`, `{"webhook_task":{"endpoint_id":"wh_1","delivery_id":"x"}}`} {
		if err := r.w.Process(ctx, body); !queue.IsMalformed(err) {
			t.Errorf("%s: %v, want malformed", body, err)
		}
	}
}
