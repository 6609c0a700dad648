package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/webhooks"
)

// WebhooksStore runs the webhooks.Store contract. Endpoint ids are
// unique per case; the endpoints partition is shared, so cases look for
// their own ids in a list.
func WebhooksStore(t *testing.T, newStore func(t *testing.T) webhooks.Store) {
	t.Helper()
	ctx := context.Background()
	endpoint := func() webhooks.Endpoint {
		now := msNow()
		return webhooks.Endpoint{ID: "wh_" + storeID("c")[2:], URL: "https://hooks.example.com/x", Types: []events.Type{events.MessageCreated, events.UserCreated},
			Keys:      webhooks.Keys{Current: "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", Previous: "whsec_old", PreviousUntil: now.Add(24 * time.Hour)},
			CreatedAt: now, UpdatedAt: now, Description: "crm sync", Version: 1}
	}
	delivery := func(epID string, at time.Time, n int) webhooks.Delivery {
		ev := events.Event{ID: events.ID(events.MessageCreated, epID, fmt.Sprint(n)), Type: events.MessageCreated, Time: at.UTC().Truncate(time.Millisecond)}
		now := msNow()
		return webhooks.Delivery{EndpointID: epID, ID: webhooks.DeliveryID(ev), EventID: ev.ID, Type: ev.Type, EventTime: ev.Time,
			Body: []byte(`{"id":"` + ev.ID + `"}`), State: webhooks.StatePending, NextAt: now, CreatedAt: now, UpdatedAt: now,
			ExpiresAt: now.Add(time.Hour).Unix(), Version: 1}
	}
	runCases(t, newStore, []storeCase[webhooks.Store]{
		{"endpoint create, get, list, update, delete", func(t *testing.T, s webhooks.Store) {
			e := endpoint()
			if err := s.CreateEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateEndpoint(ctx, e); !errors.Is(err, webhooks.ErrConflict) {
				t.Fatalf("second create: %v, want ErrConflict", err)
			}
			got, err := s.GetEndpoint(ctx, e.ID)
			if err != nil || !reflect.DeepEqual(got, e) {
				t.Fatalf("get %+v, %v\nwant %+v", got, err, e)
			}
			list, err := s.ListEndpoints(ctx)
			if err != nil || !containsEndpoint(list, e) {
				t.Fatalf("list %+v, %v: want it to hold %s", list, err, e.ID)
			}
			next := e
			next.Disabled, next.DeadStreak, next.Types, next.Version = true, 5, nil, 2
			if err := s.UpdateEndpoint(ctx, next, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.UpdateEndpoint(ctx, next, 1); !errors.Is(err, webhooks.ErrConflict) {
				t.Fatalf("stale update: %v, want ErrConflict", err)
			}
			if got, _ := s.GetEndpoint(ctx, e.ID); !reflect.DeepEqual(got, next) {
				t.Fatalf("after update %+v, want %+v", got, next)
			}
			if err := s.DeleteEndpoint(ctx, e.ID); err != nil {
				t.Fatal(err)
			}
			for name, err := range map[string]error{
				"get":    func() error { _, err := s.GetEndpoint(ctx, e.ID); return err }(),
				"update": s.UpdateEndpoint(ctx, next, 2),
				"delete": s.DeleteEndpoint(ctx, e.ID),
			} {
				if !errors.Is(err, webhooks.ErrNotFound) {
					t.Errorf("%s after delete: %v, want ErrNotFound", name, err)
				}
			}
		}},
		{"delivery written once per endpoint and event", func(t *testing.T, s webhooks.Store) {
			epID := "wh_" + storeID("d")[2:]
			d := delivery(epID, time.Now(), 1)
			for i, want := range []bool{true, false} {
				changed := d
				changed.State = webhooks.StateDead // a second write must not land
				if i == 0 {
					changed = d
				}
				created, err := s.CreateDelivery(ctx, changed)
				if err != nil || created != want {
					t.Fatalf("create %d: %v, %v; want %v", i+1, created, err, want)
				}
			}
			got, err := s.GetDelivery(ctx, epID, d.ID)
			if err != nil || !reflect.DeepEqual(got, d) {
				t.Fatalf("get %+v, %v\nwant %+v", got, err, d)
			}
			next := d
			next.Attempts = []webhooks.Outcome{{At: msNow(), Status: 503, Duration: 12 * time.Millisecond, Retry: true}}
			next.State, next.Version = webhooks.StateDelivered, 2
			next.Attempts[0].At = next.Attempts[0].At.Round(0)
			if err := s.UpdateDelivery(ctx, next, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.UpdateDelivery(ctx, next, 1); !errors.Is(err, webhooks.ErrConflict) {
				t.Fatalf("stale update: %v, want ErrConflict", err)
			}
			if got, _ := s.GetDelivery(ctx, epID, d.ID); !reflect.DeepEqual(got, next) {
				t.Fatalf("after update %+v\nwant %+v", got, next)
			}
			if _, err := s.GetDelivery(ctx, epID, "0000000000000_evt_00000000000000000000000000000000"); !errors.Is(err, webhooks.ErrNotFound) {
				t.Fatalf("missing delivery: %v, want ErrNotFound", err)
			}
		}},
		{"deliveries page newest first and select a time range", func(t *testing.T, s webhooks.Store) {
			epID := "wh_" + storeID("p")[2:]
			t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			var ds []webhooks.Delivery
			for i := range 5 {
				d := delivery(epID, t0.Add(time.Duration(i)*time.Minute), i)
				ds = append(ds, d)
				if _, err := s.CreateDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.CreateDelivery(ctx, delivery("wh_"+storeID("o")[2:], t0, 9)); err != nil { // another endpoint's
				t.Fatal(err)
			}
			var seen []string
			q := webhooks.DeliveryQuery{EndpointID: epID, Limit: 2}
			for range 10 {
				page, next, err := s.ListDeliveries(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range page {
					seen = append(seen, d.ID)
				}
				if next == "" {
					break
				}
				q.After = next
			}
			if want := []string{ds[4].ID, ds[3].ID, ds[2].ID, ds[1].ID, ds[0].ID}; !reflect.DeepEqual(seen, want) {
				t.Fatalf("pages %v, want %v", seen, want)
			}
			page, next, err := s.ListDeliveries(ctx, webhooks.DeliveryQuery{EndpointID: epID, From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute), Ascending: true, Limit: 10})
			if err != nil || next != "" || len(page) != 2 || page[0].ID != ds[1].ID || page[1].ID != ds[2].ID {
				t.Fatalf("range [1m, 3m): %+v %q %v: want deliveries 1 and 2", page, next, err)
			}
		}},
	})
}

func containsEndpoint(list []webhooks.Endpoint, e webhooks.Endpoint) bool {
	for _, l := range list {
		if reflect.DeepEqual(l, e) {
			return true
		}
	}
	return false
}
