package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/webhooks"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

// calls is a BatchSender that keeps each call's messages.
type calls struct{ got [][]queue.Message }

func (c *calls) SendBatch(_ context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	c.got = append(c.got, append([]queue.Message(nil), msgs...))
	return nil, nil
}

// counting counts ListEndpoints calls.
type counting struct {
	*memstore.Webhooks
	lists int
}

func (c *counting) ListEndpoints(ctx context.Context) ([]webhooks.Endpoint, error) {
	c.lists++
	return c.Webhooks.ListEndpoints(ctx)
}

// TestRoute: one message per (event, endpoint that wants its type), a
// disabled endpoint included (its deliveries are recorded as skipped);
// grouped per endpoint and event key, deduplicated by endpoint and event
// id; each call carries at most one message per group and a group's
// messages go in the events' order. With no endpoint nothing is sent,
// and the list is read once per TTL.
func TestRoute(t *testing.T) {
	clk := &clock{t: time.Now()}
	store := &counting{Webhooks: memstore.NewWebhooks()}
	svc := webhooks.NewService(store, webhooks.Policy{AllowLoopback: true}, &calls{}, nil)
	q := &calls{}
	r := &webhooks.Router{Store: store, Queue: q, TTL: time.Minute, Now: clk.Now}
	var evs []events.Event
	for n := range 12 {
		evs = append(evs, webhookstest.Event(t, "c1", n, clk.Now()))
	}
	evs = append(evs, webhookstest.Event(t, "c2", 0, clk.Now()))
	if err := r.Route(ctx, evs); err != nil || len(q.got) != 0 || store.lists != 1 {
		t.Fatalf("no endpoint: %v, %d calls, %d lists; want nothing sent, one list", err, len(q.got), store.lists)
	}
	mk := func(types ...string) webhooks.Endpoint {
		e, _, err := svc.Create(ctx, webhooks.CreateInput{URL: "http://127.0.0.1:1/hook", Types: types})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	msgs, users, off := mk("message.created"), mk("user.created"), mk()
	disabled := false
	if _, err := svc.Update(ctx, off.ID, webhooks.UpdateInput{Enabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	lists := store.lists // the service's own
	if err := r.Route(ctx, evs); err != nil || len(q.got) != 0 || store.lists != lists {
		t.Fatalf("within the TTL the empty list holds: %v, %d calls, %d lists", err, len(q.got), store.lists-lists)
	}
	clk.Add(time.Minute)
	if err := r.Route(ctx, evs); err != nil || store.lists != lists+1 {
		t.Fatalf("after the TTL: %v, %d lists", err, store.lists-lists)
	}
	next := map[string]int{} // group -> next seq
	total := 0
	for i, call := range q.got {
		if len(call) > queue.MaxBatch {
			t.Fatalf("call %d: %d messages", i, len(call))
		}
		inCall := map[string]bool{}
		for _, m := range call {
			total++
			if inCall[m.Group] {
				t.Fatalf("call %d: two messages of group %s", i, m.Group)
			}
			inCall[m.Group] = true
			var body struct {
				E struct {
					EndpointID string       `json:"endpoint_id"`
					Event      events.Event `json:"event"`
				} `json:"webhook_event"`
			}
			if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
				t.Fatal(err)
			}
			ev := body.E.Event
			if body.E.EndpointID == users.ID {
				t.Fatalf("message.created routed to an endpoint that wants user.created only")
			}
			var d struct {
				Conv string `json:"conversation_id"`
				Seq  int    `json:"seq"`
			}
			_ = json.Unmarshal(ev.Data, &d)
			if m.Group != body.E.EndpointID+"#"+d.Conv || m.DedupID != body.E.EndpointID+"#"+ev.ID {
				t.Fatalf("group %q dedup %q for %s of %s", m.Group, m.DedupID, ev.ID, body.E.EndpointID)
			}
			if d.Seq != next[m.Group] {
				t.Fatalf("group %s: seq %d, want %d", m.Group, d.Seq, next[m.Group])
			}
			next[m.Group]++
		}
	}
	if want := 2 * len(evs); total != want || next[msgs.ID+"#c1"] != 12 || next[off.ID+"#c2"] != 1 {
		t.Fatalf("%d messages (%v), want %d", total, next, want)
	}
}

// TestRouteGroupIDs: keys SQS would refuse in a group id (too long, not
// ASCII punctuation) are hashed, the same every time.
func TestRouteGroupIDs(t *testing.T) {
	ev := events.Event{ID: "evt_1", Key: "d:alice:bob"}
	if g := webhooks.MessageGroup("wh_1", ev); g != "wh_1#d:alice:bob" {
		t.Fatalf("group %q", g)
	}
	for _, key := range []string{strings.Repeat("k", 200), "d:élodie:bob", "a b"} {
		ev.Key = key
		g := webhooks.MessageGroup("wh_1", ev)
		if len(g) > 128 || strings.Contains(g, key) || g != webhooks.MessageGroup("wh_1", ev) {
			t.Fatalf("key %q: group %q", key, g)
		}
	}
}

// TestOrdered: an ordered event's retryable failure answers RetryAfter
// with the schedule's wait (the FIFO group waits behind it); coming back
// early answers the rest of the wait without a request; when due it is
// attempted and, delivered, settles (nil: the group goes on); handled
// again it sends nothing. A final answer, a deleted endpoint or a
// dropped subscription settle at once; a disabled endpoint's event is
// kept as skipped.
func TestOrdered(t *testing.T) {
	recv := webhookstest.NewReceiver(t, http.StatusServiceUnavailable, http.StatusBadRequest)
	r := newRig(t, []time.Duration{time.Minute})
	e := r.endpoint(t, recv.URL)
	ev := webhookstest.Event(t, "c1", 1, r.clk.Now())
	body, _ := json.Marshal(ev)
	msg := webhooks.EventBody(e.ID, body)
	wait := func(err error) time.Duration {
		t.Helper()
		d, ok := queue.IsRetryAfter(err)
		if !ok {
			t.Fatalf("%v: want RetryAfter", err)
		}
		return d
	}
	if d := wait(r.w.Process(ctx, msg)); d < 59*time.Second || d > time.Minute {
		t.Fatalf("after a 503: retry in %v, want 1m", d)
	}
	r.clk.Add(40 * time.Second)
	if d := wait(r.w.Process(ctx, msg)); d < 19*time.Second || d > 20*time.Second || len(recv.Requests()) != 1 {
		t.Fatalf("early: retry in %v after %d requests, want 20s after 1", d, len(recv.Requests()))
	}
	r.clk.Add(20 * time.Second)
	// The 400 is the second answer: final, dead-lettered; the group goes on.
	if err := r.w.Process(ctx, msg); err != nil || len(recv.Requests()) != 2 {
		t.Fatalf("due: %v after %d requests", err, len(recv.Requests()))
	}
	if d, _ := r.store.GetDelivery(ctx, e.ID, webhooks.DeliveryID(ev)); d.State != webhooks.StateDead || len(d.Attempts) != 2 {
		t.Fatalf("delivery %s with %d attempts, want dead with 2", d.State, len(d.Attempts))
	}
	if err := r.w.Process(ctx, msg); err != nil || len(recv.Requests()) != 2 {
		t.Fatalf("again: %v after %d requests", err, len(recv.Requests()))
	}
	ev2 := webhookstest.Event(t, "c1", 2, r.clk.Now())
	body2, _ := json.Marshal(ev2)
	if err := r.w.Process(ctx, webhooks.EventBody(e.ID, body2)); err != nil || len(recv.Delivered()) != 1 {
		t.Fatalf("next event: %v, %d delivered", err, len(recv.Delivered()))
	}
	// Disabled: skipped without a request.
	off := false
	if _, err := r.svc.Update(ctx, e.ID, webhooks.UpdateInput{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	ev3 := webhookstest.Event(t, "c1", 3, r.clk.Now())
	body3, _ := json.Marshal(ev3)
	if err := r.w.Process(ctx, webhooks.EventBody(e.ID, body3)); err != nil || len(recv.Requests()) != 3 {
		t.Fatalf("disabled: %v after %d requests", err, len(recv.Requests()))
	}
	if d, _ := r.store.GetDelivery(ctx, e.ID, webhooks.DeliveryID(ev3)); d.State != webhooks.StateSkipped {
		t.Fatalf("disabled endpoint's delivery %s, want skipped", d.State)
	}
	// Gone, or not subscribed: nothing, no delivery.
	users, _, _ := r.svc.Create(ctx, webhooks.CreateInput{URL: recv.URL, Types: []string{"user.created"}})
	for _, id := range []string{"wh_00000000000000000000", users.ID} {
		if err := r.w.Process(ctx, webhooks.EventBody(id, body3)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if _, err := r.store.GetDelivery(ctx, id, webhooks.DeliveryID(ev3)); !errors.Is(err, webhooks.ErrNotFound) {
			t.Fatalf("%s: a delivery was written (%v)", id, err)
		}
	}
	if len(recv.Requests()) != 3 {
		t.Fatalf("%d requests, want 3", len(recv.Requests()))
	}
}
