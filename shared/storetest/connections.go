package storetest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/realtime"
)

// Connections is a realtime.Store with a way to make group members (they
// live with the groups, outside realtime.Store).
type Connections struct {
	Store realtime.Store
	// AddMembers makes uids members of a new group gid.
	AddMembers func(t *testing.T, gid string, uids ...string)
}

func newConn(user string, at time.Time) realtime.Connection {
	c := realtime.NewConnection(user, storeID("conn"), at)
	c.Device, c.UserAgent, c.SourceIP = "web", "storetest", "127.0.0.1"
	return c
}

func mustPutConn(t *testing.T, s realtime.Store, cs ...realtime.Connection) {
	t.Helper()
	for _, c := range cs {
		if err := s.PutConnection(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

func sortedConnIDs(cs ...realtime.Connection) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ConnectionID
	}
	slices.Sort(out)
	return out
}

// wantPresence compares presence maps, connection ids in any order.
func wantPresence(t *testing.T, got, want map[string]realtime.Presence) {
	t.Helper()
	norm := func(m map[string]realtime.Presence) map[string]realtime.Presence {
		out := map[string]realtime.Presence{}
		for k, p := range m {
			p.Conns = slices.Sorted(slices.Values(p.Conns))
			if len(p.Conns) == 0 {
				p.Conns = nil
			}
			out[k] = p
		}
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("presence\n got %+v\nwant %+v", g, w)
	}
}

// ConnectionsStore runs the realtime.Store contract.
func ConnectionsStore(t *testing.T, newStore func(t *testing.T) Connections) {
	t.Helper()
	ctx := context.Background()
	runCases(t, newStore, []storeCase[Connections]{
		{"user connections lists the unexpired in id order", func(t *testing.T, f Connections) {
			s, user, now := f.Store, storeID("u"), time.Now()
			live1, live2 := newConn(user, now), newConn(user, now)
			stale := newConn(user, now.Add(-realtime.ConnectionTTL)) // expires now: gone
			mustPutConn(t, s, live1, live2, stale, newConn(storeID("other"), now))
			got, err := s.UserConnections(ctx, user, now)
			want := []realtime.Connection{live1, live2}
			slices.SortFunc(want, func(a, b realtime.Connection) int { return strings.Compare(a.ConnectionID, b.ConnectionID) })
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v %v\nwant %+v", got, err, want)
			}
			if got, err := s.UserConnections(ctx, storeID("nobody"), now); err != nil || len(got) != 0 {
				t.Fatalf("unknown user: %v %v", got, err)
			}
		}},
		{"put replaces a record", func(t *testing.T, f Connections) {
			s, now := f.Store, time.Now()
			c := newConn(storeID("u"), now)
			mustPutConn(t, s, c)
			c.Device = "ios"
			mustPutConn(t, s, c)
			if got, err := s.UserConnections(ctx, c.UserID, now); err != nil || !reflect.DeepEqual(got, []realtime.Connection{c}) {
				t.Fatalf("got %+v %v", got, err)
			}
		}},
		{"delete removes the record and stamps last seen", func(t *testing.T, f Connections) {
			s, now := f.Store, time.Now()
			a, b := newConn(storeID("u"), now), newConn("", now)
			b.UserID = a.UserID
			mustPutConn(t, s, a, b)
			at := now.Add(time.Minute).UTC().Truncate(time.Millisecond)
			if err := s.DeleteConnection(ctx, a.UserID, a.ConnectionID, at); err != nil {
				t.Fatal(err)
			}
			if got, err := s.UserConnections(ctx, a.UserID, now); err != nil || !reflect.DeepEqual(got, []realtime.Connection{b}) {
				t.Fatalf("after delete: %+v %v", got, err)
			}
			p, err := s.Presence(ctx, []string{a.UserID}, now)
			if err != nil {
				t.Fatal(err)
			}
			wantPresence(t, p, map[string]realtime.Presence{a.UserID: {UserID: a.UserID, Conns: []string{b.ConnectionID}, LastSeen: at}})
			// Deleting again, or a connection never stored, is not an error.
			if err := s.DeleteConnection(ctx, a.UserID, a.ConnectionID, at); err != nil {
				t.Fatal(err)
			}
		}},
		{"a stale delete keeps a fresh connection", func(t *testing.T, f Connections) {
			s, now := f.Store, time.Now().UTC().Truncate(time.Millisecond)
			old, fresh := newConn(storeID("u"), now.Add(-time.Minute)), newConn("", now)
			fresh.UserID = old.UserID
			mustPutConn(t, s, old, fresh)
			for _, tc := range []struct {
				c    realtime.Connection
				want bool
			}{{fresh, false}, {old, true}} {
				deleted, err := s.DeleteStaleConnection(ctx, tc.c.UserID, tc.c.ConnectionID, now.Add(-30*time.Second), now)
				if err != nil || deleted != tc.want {
					t.Fatalf("%s: deleted=%v %v, want %v", tc.c.ConnectionID, deleted, err, tc.want)
				}
			}
			if got, err := s.UserConnections(ctx, old.UserID, now); err != nil || !reflect.DeepEqual(got, []realtime.Connection{fresh}) {
				t.Fatalf("after the stale deletes: %+v %v", got, err)
			}
			// A record already gone is deleted (nothing to keep).
			if deleted, err := s.DeleteStaleConnection(ctx, old.UserID, storeID("gone"), now, now); err != nil || !deleted {
				t.Fatalf("missing record: %v %v", deleted, err)
			}
		}},
		{"delete never creates presence", func(t *testing.T, f Connections) {
			s, user := f.Store, storeID("u")
			if err := s.DeleteConnection(ctx, user, storeID("conn"), time.Now()); err != nil {
				t.Fatal(err)
			}
			p, err := s.Presence(ctx, []string{user}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			wantPresence(t, p, map[string]realtime.Presence{})
		}},
		{"presence keeps unexpired connections", func(t *testing.T, f Connections) {
			s, now := f.Store, time.Now()
			on, off, never := storeID("on"), storeID("off"), storeID("never")
			c1, c2 := newConn(on, now), newConn(on, now)
			stale := newConn(on, now.Add(-realtime.ConnectionTTL))
			gone := newConn(off, now)
			mustPutConn(t, s, c1, c2, stale, gone)
			at := now.UTC().Truncate(time.Millisecond)
			if err := s.DeleteConnection(ctx, off, gone.ConnectionID, at); err != nil {
				t.Fatal(err)
			}
			p, err := s.Presence(ctx, []string{on, off, never, on, ""}, now)
			if err != nil {
				t.Fatal(err)
			}
			wantPresence(t, p, map[string]realtime.Presence{
				on:  {UserID: on, Conns: sortedConnIDs(c1, c2)},
				off: {UserID: off, LastSeen: at},
			})
			if p[on].Online() == false || p[off].Online() {
				t.Fatalf("online: %+v", p)
			}
			// Later, the connections have expired: offline, never seen leaving.
			later, err := s.Presence(ctx, []string{on}, now.Add(realtime.ConnectionTTL+time.Second))
			if err != nil {
				t.Fatal(err)
			}
			wantPresence(t, later, map[string]realtime.Presence{on: {UserID: on}})
		}},
		{"presence of many users", func(t *testing.T, f Connections) {
			s, now := f.Store, time.Now()
			want := map[string]realtime.Presence{}
			var ids []string
			for range 130 { // more than one BatchGetItem
				c := newConn(storeID("many"), now)
				mustPutConn(t, s, c)
				ids = append(ids, c.UserID)
				want[c.UserID] = realtime.Presence{UserID: c.UserID, Conns: []string{c.ConnectionID}}
			}
			got, err := s.Presence(ctx, ids, now)
			if err != nil {
				t.Fatal(err)
			}
			wantPresence(t, got, want)
		}},
		{"group presence keeps members only", func(t *testing.T, f Connections) {
			s, now, gid := f.Store, time.Now(), storeID("g")
			a, b, outsider := newConn(storeID("a"), now), newConn(storeID("b"), now), newConn(storeID("x"), now)
			f.AddMembers(t, gid, a.UserID, b.UserID, storeID("offline"))
			mustPutConn(t, s, a, b, outsider)
			got, err := s.GroupPresence(ctx, gid, []string{a.UserID, b.UserID, outsider.UserID}, now)
			if err != nil {
				t.Fatal(err)
			}
			wantPresence(t, got, map[string]realtime.Presence{
				a.UserID: {UserID: a.UserID, Conns: []string{a.ConnectionID}},
				b.UserID: {UserID: b.UserID, Conns: []string{b.ConnectionID}},
			})
			if got, err := s.GroupPresence(ctx, storeID("nogroup"), []string{a.UserID}, now); err != nil || len(got) != 0 {
				t.Fatalf("unknown group: %v %v", got, err)
			}
		}},
		{"group member ids page in id order", func(t *testing.T, f Connections) {
			s, gid := f.Store, storeID("g")
			var want []string
			for range 7 {
				want = append(want, storeID("m"))
			}
			f.AddMembers(t, gid, want...)
			slices.Sort(want)
			var got []string
			after := ""
			for n := 0; ; n++ {
				if n > 10 {
					t.Fatal("paging did not end")
				}
				ids, next, err := s.GroupMemberIDs(ctx, gid, 3, after)
				if err != nil || len(ids) > 3 {
					t.Fatalf("page %d: %v %v", n, ids, err)
				}
				got = append(got, ids...)
				if next == "" {
					break
				}
				if next != ids[len(ids)-1] {
					t.Fatalf("next %q, want the page's last id %q", next, ids[len(ids)-1])
				}
				after = next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
			ids, next, err := s.GroupMemberIDs(ctx, storeID("nogroup"), 3, "")
			if err != nil || len(ids) != 0 || next != "" {
				t.Fatalf("unknown group: %v %q %v", ids, next, err)
			}
		}},
	})
}
