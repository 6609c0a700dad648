package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// flakyBus accepts entries except those it is told to refuse, a given
// number of times each, and records what it accepted in order.
type flakyBus struct {
	refuse   map[string]int // id -> refusals left
	accepted []Event
	calls    [][]string
	fail     error
}

func (b *flakyBus) Put(_ context.Context, evs []Event) ([]error, error) {
	if b.fail != nil {
		return nil, b.fail
	}
	var ids []string
	out := make([]error, len(evs))
	for i, e := range evs {
		ids = append(ids, e.ID)
		if b.refuse[e.ID] > 0 {
			b.refuse[e.ID]--
			out[i] = errors.New("ThrottlingException")
			continue
		}
		b.accepted = append(b.accepted, e)
	}
	b.calls = append(b.calls, ids)
	return out, nil
}

func stream(convs, per int) []Event {
	var evs []Event
	for i := range per {
		for c := range convs {
			key := fmt.Sprintf("c%d", c)
			evs = append(evs, Event{ID: fmt.Sprintf("%s/%d", key, i), Key: key})
		}
	}
	return evs
}

// TestPublishOrderAndRetries: refused entries are put again, and every
// key's events are accepted in their order, however refusals fall.
func TestPublishOrderAndRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		convs  int
		per    int
		refuse map[string]int
	}{
		{"no refusals", 3, 10, nil},
		{"one refused once", 3, 10, map[string]int{"c1/2": 1}},
		{"several refused", 10, 12, map[string]int{"c0/0": 2, "c5/3": 1, "c9/11": 3}},
		{"one hot conversation", 1, 25, map[string]int{"c0/4": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &flakyBus{refuse: tc.refuse}
			evs := stream(tc.convs, tc.per)
			p := &Publisher{Bus: b, Backoff: time.Millisecond}
			if err := p.Publish(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			if len(b.accepted) != len(evs) {
				t.Fatalf("accepted %d of %d", len(b.accepted), len(evs))
			}
			next := map[string]int{}
			for _, e := range b.accepted {
				if want := fmt.Sprintf("%s/%d", e.Key, next[e.Key]); e.ID != want {
					t.Fatalf("accepted %s, want %s next (order per key)", e.ID, want)
				}
				next[e.Key]++
			}
			for _, c := range b.calls {
				if len(c) > MaxBatch {
					t.Errorf("a call of %d entries", len(c))
				}
			}
		})
	}
}

// TestPublishGivesUp: an entry refused on every attempt, or a failed
// call, is an error (the stream batch is retried), after Attempts.
func TestPublishGivesUp(t *testing.T) {
	b := &flakyBus{refuse: map[string]int{"c0/1": 100}}
	p := &Publisher{Bus: b, Attempts: 3, Backoff: time.Millisecond}
	if err := p.Publish(context.Background(), stream(2, 3)); !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v, want ErrRefused", err)
	}
	if n := 100 - b.refuse["c0/1"]; n != 3 {
		t.Errorf("put %d times, want 3", n)
	}
	if slices.ContainsFunc(b.accepted, func(e Event) bool { return e.ID == "c0/2" }) {
		t.Error("c0/2 was put before c0/1 was accepted")
	}
	b = &flakyBus{fail: errors.New("AccessDenied")}
	if err := (&Publisher{Bus: b}).Publish(context.Background(), stream(1, 1)); err == nil {
		t.Fatal("a failed call is not an error")
	}
}
