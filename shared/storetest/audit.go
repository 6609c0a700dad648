package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/audit"
)

// AuditStore runs the audit.Store contract. Each case uses its own actor
// or action and its own days, so cases sharing a table do not see each
// other.
func AuditStore(t *testing.T, newStore func(t *testing.T) audit.Store) {
	t.Helper()
	ctx := context.Background()
	entry := func(at time.Time, actor, action, target string) audit.Entry {
		return audit.Entry{ID: audit.NewID(at), At: at.UTC().Truncate(time.Millisecond), Actor: actor, Action: action, Target: target,
			RequestID: "req-1", SourceIP: "203.0.113.7", UserAgent: "ua", ExpiresAt: at.Add(time.Hour).Unix()}
	}
	appendAll := func(t *testing.T, s audit.Store, es ...audit.Entry) {
		t.Helper()
		for _, e := range es {
			if err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func(es []audit.Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	runCases(t, newStore, []storeCase[audit.Store]{
		{"append then list by actor, target and action", func(t *testing.T, s audit.Store) {
			base := time.Now().Add(-time.Hour)
			actor, other := "credential:"+storeID("tk"), "user:"+storeID("u")
			e1 := entry(base, actor, "credential.create", "credential:tk_a")
			e1.Changes = map[string]audit.Change{"scopes": {After: "jobs:write"}, "name": {Before: "old", After: "new"}}
			e2 := entry(base.Add(time.Second), actor, "credential.disable", "credential:tk_a")
			e3 := entry(base.Add(2*time.Second), other, "credential.disable", "credential:tk_a")
			appendAll(t, s, e1, e2, e3)
			if err := s.Append(ctx, e1); err == nil {
				t.Fatal("an entry id was reused")
			}
			q := audit.Query{Actor: actor, Since: base.Add(-time.Minute), Until: base.Add(time.Minute), Limit: 10}
			got, next, err := s.List(ctx, q)
			if err != nil || next != "" || !reflect.DeepEqual(got, []audit.Entry{e2, e1}) {
				t.Fatalf("by actor: %+v %q %v", got, next, err)
			}
			q = audit.Query{Actor: actor, Action: "credential.create", Since: base.Add(-time.Minute), Until: base.Add(time.Minute), Limit: 10}
			if got, _, err := s.List(ctx, q); err != nil || !reflect.DeepEqual(ids(got), []string{e1.ID}) {
				t.Fatalf("by actor and action: %v %v", ids(got), err)
			}
			q = audit.Query{Target: "credential:tk_a", Action: "credential.disable", Since: base.Add(-time.Minute), Until: base.Add(time.Minute), Limit: 1}
			got, next, err = s.List(ctx, q)
			if err != nil || !reflect.DeepEqual(ids(got), []string{e3.ID}) || next != e3.ID {
				t.Fatalf("by target, page 1: %v %q %v", ids(got), next, err)
			}
			q.Before = next
			if got, _, err = s.List(ctx, q); err != nil || !reflect.DeepEqual(ids(got), []string{e2.ID}) {
				t.Fatalf("by target, page 2: %v %v", ids(got), err)
			}
			q = audit.Query{Actor: actor, Since: base.Add(500 * time.Millisecond), Until: base.Add(time.Minute), Limit: 10}
			if got, _, err = s.List(ctx, q); err != nil || !reflect.DeepEqual(ids(got), []string{e2.ID}) {
				t.Fatalf("since: %v %v", ids(got), err)
			}
		}},
		{"list across days without an actor", func(t *testing.T, s audit.Store) {
			// Days in 2001 nothing else writes; a unique action isolates the case.
			action := "test." + storeID("a")
			d := time.Date(2001, 3, 10, 12, 0, 0, 0, time.UTC)
			es := []audit.Entry{entry(d, "x", action, ""), entry(d.Add(24*time.Hour), "x", action, ""), entry(d.Add(72*time.Hour), "x", action, ""),
				entry(d.Add(72*time.Hour+time.Second), "x", "other."+action, "")}
			appendAll(t, s, es...)
			q := audit.Query{Action: action, Since: d.Add(-24 * time.Hour), Until: d.Add(100 * 24 * time.Hour), Limit: 2}
			var seen []string
			for range 20 {
				got, next, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, ids(got)...)
				if next == "" {
					break
				}
				q.Before = next
			}
			if want := []string{es[2].ID, es[1].ID, es[0].ID}; !reflect.DeepEqual(seen, want) {
				t.Fatalf("across days: %v, want %v", seen, want)
			}
		}},
	})
}
