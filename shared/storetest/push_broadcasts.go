package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/push"
)

func newBroadcast(at time.Time) push.Broadcast {
	return push.Broadcast{ID: push.NewBroadcastID(at), Title: "Maintenance", Body: "Tonight 22:00 UTC", Data: map[string]string{"k": "v"},
		Link: "https://example.com/status", Audience: push.Audience{UserIDs: []string{"a", "b"}}, CreatedAt: at.UTC().Truncate(time.Millisecond)}
}

// BroadcastStore runs the push.BroadcastStore contract.
func BroadcastStore(t *testing.T, newStore func(t *testing.T) push.BroadcastStore) {
	t.Helper()
	ctx := context.Background()
	runCases(t, newStore, []storeCase[push.BroadcastStore]{
		{"create, get, and an idempotency key used twice", func(t *testing.T, s push.BroadcastStore) {
			b := newBroadcast(time.Now())
			key := storeID("key")
			if id, fp, err := s.CreateBroadcast(ctx, b, key, "fp1"); id != "" || fp != "" || err != nil {
				t.Fatalf("create: %q %q %v", id, fp, err)
			}
			got, err := s.GetBroadcast(ctx, b.ID)
			if err != nil || got.Title != b.Title || got.Body != b.Body || !reflect.DeepEqual(got.Data, b.Data) || got.Link != b.Link ||
				!reflect.DeepEqual(got.Audience, b.Audience) || !got.CreatedAt.Equal(b.CreatedAt) || got.Planned || got.Counts != (push.Counts{}) {
				t.Fatalf("get %+v %v\nwant %+v", got, err, b)
			}
			again := newBroadcast(time.Now())
			if id, fp, err := s.CreateBroadcast(ctx, again, key, "fp2"); id != b.ID || fp != "fp1" || err != nil {
				t.Fatalf("second create with the key: %q %q %v", id, fp, err)
			}
			if id, fp, err := s.BroadcastKey(ctx, key); id != b.ID || fp != "fp1" || err != nil {
				t.Fatalf("key lookup: %q %q %v", id, fp, err)
			}
			if id, fp, err := s.BroadcastKey(ctx, storeID("unused")); id != "" || fp != "" || err != nil {
				t.Fatalf("unused key: %q %q %v", id, fp, err)
			}
			_, err = s.GetBroadcast(ctx, again.ID)
			wantCode(t, err, apierror.NotFound)
			if id, _, err := s.CreateBroadcast(ctx, again, "", ""); id != "" || err != nil {
				t.Fatalf("create without a key: %q %v", id, err)
			}
		}},
		{"quota per day", func(t *testing.T, s push.BroadcastStore) {
			day := storeID("day")
			for i := range 2 {
				if err := s.ConsumeQuota(ctx, day, 2); err != nil {
					t.Fatalf("broadcast %d: %v", i, err)
				}
			}
			wantCode(t, s.ConsumeQuota(ctx, day, 2), apierror.QuotaExceeded)
			if err := s.ConsumeQuota(ctx, storeID("day"), 2); err != nil {
				t.Fatalf("another day: %v", err)
			}
		}},
		{"plan pages and chunks count once each", func(t *testing.T, s push.BroadcastStore) {
			b := newBroadcast(time.Now())
			if _, _, err := s.CreateBroadcast(ctx, b, "", ""); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				page, chunks int
				last         bool
			}{{0, 2, false}, {0, 2, false}, {1, 1, true}} {
				if err := s.RecordPlan(ctx, b.ID, p.page, p.chunks, p.last); err != nil {
					t.Fatal(err)
				}
			}
			c := push.Counts{Targeted: 3, DeliveredLive: 1, Pushed: 1, NoDevice: 1}
			for range 2 {
				if err := s.RecordChunk(ctx, b.ID, "0-0", c); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.RecordChunk(ctx, b.ID, "0-1", push.Counts{Targeted: 2, Suppressed: 1, Failed: 1}); err != nil {
				t.Fatal(err)
			}
			got, _ := s.GetBroadcast(ctx, b.ID)
			want := push.Counts{Targeted: 5, DeliveredLive: 1, Pushed: 1, NoDevice: 1, Suppressed: 1, Failed: 1}
			if !got.Planned || got.ChunksTotal != 3 || got.ChunksDone != 2 || got.Counts != want || got.WithState().State != push.StateRunning {
				t.Fatalf("progress %+v", got)
			}
		}},
		{"a recipient is claimed once; the outcome is kept", func(t *testing.T, s push.BroadcastStore) {
			n := push.InboxItem{UserID: storeID("u"), ID: push.NewBroadcastID(time.Now()), Title: "t", Body: "b", CreatedAt: msNow()}
			if o, existed, err := s.ClaimRecipient(ctx, n, time.Hour); o != "" || existed || err != nil {
				t.Fatalf("first: %q %v %v", o, existed, err)
			}
			if o, existed, err := s.ClaimRecipient(ctx, n, time.Hour); o != "" || !existed || err != nil {
				t.Fatalf("unfinished: %q %v %v", o, existed, err)
			}
			if err := s.SetOutcome(ctx, n.UserID, n.ID, push.OutcomePushed); err != nil {
				t.Fatal(err)
			}
			if o, existed, err := s.ClaimRecipient(ctx, n, time.Hour); o != push.OutcomePushed || !existed || err != nil {
				t.Fatalf("finished: %q %v %v", o, existed, err)
			}
		}},
		{"a user's notifications, newest first, paged", func(t *testing.T, s push.BroadcastStore) {
			u := storeID("u")
			start := time.Now()
			var ids []string
			for i := range 3 {
				n := push.InboxItem{UserID: u, ID: push.NewBroadcastID(start.Add(time.Duration(i) * time.Second)), Title: "t", Body: "b", CreatedAt: msNow(), Data: map[string]string{"i": "x"}}
				ids = append([]string{n.ID}, ids...)
				if _, _, err := s.ClaimRecipient(ctx, n, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			p1, next, err := s.ListInbox(ctx, u, 2, nil)
			if err != nil || len(p1) != 2 || p1[0].ID != ids[0] || p1[1].ID != ids[1] || next == nil || p1[0].Data["i"] != "x" {
				t.Fatalf("page 1: %+v %q %v", p1, next, err)
			}
			p2, next, err := s.ListInbox(ctx, u, 2, next)
			if err != nil || len(p2) != 1 || p2[0].ID != ids[2] || next != nil {
				t.Fatalf("page 2: %+v %q %v", p2, next, err)
			}
			if all, next, _ := s.ListInbox(ctx, u, 3, nil); len(all) != 3 || next != nil {
				t.Fatalf("an exactly full page has a next token: %d %q", len(all), next)
			}
		}},
		{"read state: marked once, unread ids newest first and up to an id, other users untouched", func(t *testing.T, s push.BroadcastStore) {
			u, other := storeID("u"), storeID("u")
			start := time.Now()
			var ids []string // newest first
			for i := range 4 {
				id := push.NewBroadcastID(start.Add(time.Duration(i) * time.Second))
				ids = append([]string{id}, ids...)
				for _, who := range []string{u, other} {
					if _, _, err := s.ClaimRecipient(ctx, push.InboxItem{UserID: who, ID: id, Title: "t", Body: "b", CreatedAt: msNow()}, time.Hour); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got, err := s.UnreadIDs(ctx, u, ""); err != nil || !reflect.DeepEqual(got, ids) {
				t.Fatalf("unread %v %v, want %v", got, err, ids)
			}
			if got, err := s.UnreadIDs(ctx, u, ids[2]); err != nil || !reflect.DeepEqual(got, ids[2:]) {
				t.Fatalf("unread up to %s: %v %v, want %v", ids[2], got, err, ids[2:])
			}
			at := msNow()
			missing := push.NewBroadcastID(start.Add(time.Hour))
			if n, err := s.MarkRead(ctx, u, []string{ids[1], missing}, at); n != 1 || err != nil {
				t.Fatalf("mark: %d %v", n, err)
			}
			if n, err := s.MarkRead(ctx, u, []string{ids[1]}, at.Add(time.Second)); n != 0 || err != nil {
				t.Fatalf("mark again: %d %v", n, err)
			}
			if got, _ := s.UnreadIDs(ctx, u, ""); !reflect.DeepEqual(got, []string{ids[0], ids[2], ids[3]}) {
				t.Fatalf("unread after mark: %v", got)
			}
			if got, _ := s.UnreadIDs(ctx, other, ""); len(got) != 4 {
				t.Fatalf("another user's unread changed: %v", got)
			}
			list, _, _ := s.ListInbox(ctx, u, 10, nil)
			if len(list) != 4 || list[1].ReadAt == nil || !list[1].ReadAt.Equal(at) || list[0].ReadAt != nil {
				t.Fatalf("list: %+v", list)
			}
			if _, _, err := s.ClaimRecipient(ctx, push.InboxItem{UserID: u, ID: ids[1], Title: "t", Body: "b", CreatedAt: msNow()}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.UnreadIDs(ctx, u, ""); len(got) != 3 {
				t.Fatalf("a redelivered claim made a read notification unread: %v", got)
			}
		}},
	})
}
