package webhooks

import (
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/events"
)

// TestCheckTypes: known, distinct types only, at most MaxTypes.
func TestCheckTypes(t *testing.T) {
	many := make([]events.Type, MaxTypes+1)
	for i := range many {
		many[i] = events.MessageCreated
	}
	for _, tc := range []struct {
		name string
		ts   []events.Type
		ok   bool
	}{
		{"every type", nil, true},
		{"some", []events.Type{events.MessageCreated, events.UserDeleted}, true},
		{"unknown", []events.Type{"message.deleted"}, false},
		{"repeated", []events.Type{events.MessageCreated, events.MessageCreated}, false},
		{"too many", many, false},
	} {
		if err := CheckTypes(tc.ts); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestDisableThreshold: DisableAfter dead-lettered deliveries in a row
// disable an endpoint; a success between resets the count; Enable
// re-enables it with a clean count.
func TestDisableThreshold(t *testing.T) {
	e := &Endpoint{}
	for range DisableAfter - 1 {
		if e.Settled(false) {
			t.Fatal("disabled early")
		}
	}
	e.Settled(true)
	for i := range DisableAfter {
		if got := e.Settled(false); got != (i == DisableAfter-1) {
			t.Fatalf("dead %d: disabled now = %v", i+1, got)
		}
	}
	if !e.Disabled || e.Settled(false) {
		t.Fatalf("endpoint %+v: want disabled once", e)
	}
	e.Enable()
	if e.Disabled || e.DeadStreak != 0 {
		t.Fatalf("re-enabled %+v", e)
	}
}

// TestReplay: the wanted events within the range, in time order; bad
// ranges refused.
func TestReplay(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	evs := []events.Event{{ID: "c", Type: events.MessageCreated, Time: t0.Add(2 * time.Minute)},
		{ID: "a", Type: events.MessageCreated, Time: t0}, {ID: "u", Type: events.UserCreated, Time: t0.Add(time.Minute)},
		{ID: "late", Type: events.MessageCreated, Time: t0.Add(time.Hour)}}
	e := Endpoint{Types: []events.Type{events.MessageCreated}}
	got, err := e.Replay(evs, t0, t0.Add(time.Hour))
	if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "c" {
		t.Fatalf("replay %+v, %v: want a, c", got, err)
	}
	for _, r := range [][2]time.Time{{t0, t0}, {t0.Add(time.Hour), t0}, {t0, t0.Add(MaxReplay + time.Second)}} {
		if _, err := e.Replay(evs, r[0], r[1]); err == nil {
			t.Errorf("range %v accepted", r)
		}
	}
}
