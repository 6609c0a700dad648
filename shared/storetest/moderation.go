package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/users"
)

// ModerationStores is a moderation store and the users store it sees.
type ModerationStores struct {
	Mod   moderation.Store
	Users users.Store
}

// ModerationStore runs the moderation.Store contract. Other cases may share
// the backend: listings are checked within ids only one case uses.
func ModerationStore(t *testing.T, newStore func(t *testing.T) ModerationStores) {
	t.Helper()
	ctx := context.Background()
	mkUser := func(t *testing.T, s ModerationStores) users.User {
		t.Helper()
		u := newUser(storeID("mod"))
		if _, err := s.Users.PutUserIfAbsent(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	status := func(t *testing.T, s ModerationStores, id string) auth.UserStatus {
		t.Helper()
		st, err := s.Mod.UserStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	runCases(t, newStore, []storeCase[ModerationStores]{
		{"ban, role and unban live on the user", func(t *testing.T, s ModerationStores) {
			u := mkUser(t, s)
			if st := status(t, s, u.UserID); st.Gen != u.Gen || st.Ban != nil || st.Role != "" {
				t.Fatalf("fresh user status %+v", st)
			}
			ban := auth.Ban{Reason: "spam", Until: 1_900_000_000_000, By: "tk_x", At: 1_800_000_000_000}
			if ok, err := s.Mod.SetBan(ctx, u.UserID, ban); err != nil || !ok {
				t.Fatalf("ban: %v %v", ok, err)
			}
			if ok, err := s.Mod.SetRole(ctx, u.UserID, "moderator"); err != nil || !ok {
				t.Fatalf("role: %v %v", ok, err)
			}
			if st := status(t, s, u.UserID); st.Ban == nil || *st.Ban != ban || st.Role != "moderator" {
				t.Fatalf("status %+v", st)
			}
			if got, err := s.Users.GetUser(ctx, u.UserID); err != nil || got.Nickname != u.Nickname {
				t.Fatalf("ban changed the profile: %+v %v", got, err)
			}
			if ok, err := s.Mod.ClearBan(ctx, u.UserID); err != nil || !ok {
				t.Fatalf("unban: %v %v", ok, err)
			}
			if ok, err := s.Mod.SetRole(ctx, u.UserID, ""); err != nil || !ok {
				t.Fatalf("clear role: %v %v", ok, err)
			}
			if st := status(t, s, u.UserID); st.Ban != nil || st.Role != "" {
				t.Fatalf("after unban: %+v", st)
			}
		}},
		{"unknown user: nothing written", func(t *testing.T, s ModerationStores) {
			id := storeID("ghost")
			if ok, err := s.Mod.SetBan(ctx, id, auth.Ban{Reason: "x"}); err != nil || ok {
				t.Fatalf("ban unknown: %v %v", ok, err)
			}
			if ok, err := s.Mod.SetRole(ctx, id, "moderator"); err != nil || ok {
				t.Fatalf("role unknown: %v %v", ok, err)
			}
			if ok, err := s.Mod.ClearBan(ctx, id); err != nil || ok {
				t.Fatalf("unban unknown: %v %v", ok, err)
			}
			if st := status(t, s, id); st != (auth.UserStatus{}) {
				t.Fatalf("unknown user status %+v", st)
			}
		}},
		{"a re-created user starts clean", func(t *testing.T, s ModerationStores) {
			u := mkUser(t, s)
			if _, err := s.Mod.SetBan(ctx, u.UserID, auth.Ban{Reason: "x"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Users.DeleteUser(ctx, u.UserID); err != nil {
				t.Fatal(err)
			}
			again := newUser(u.UserID)
			if _, err := s.Users.PutUserIfAbsent(ctx, again); err != nil {
				t.Fatal(err)
			}
			if st := status(t, s, u.UserID); st.Ban != nil || st.Gen != again.Gen {
				t.Fatalf("re-created user status %+v", st)
			}
		}},
		{"blocklist", func(t *testing.T, s ModerationStores) {
			owner := storeID("owner")
			for _, b := range []string{"c", "a", "b"} {
				if err := s.Mod.PutBlock(ctx, moderation.Block{UserID: owner, BlockedID: b, At: 7}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Mod.PutBlock(ctx, moderation.Block{UserID: owner, BlockedID: "a", At: 7}); err != nil {
				t.Fatalf("blocking twice: %v", err)
			}
			if ok, err := s.Mod.IsBlocked(ctx, owner, "a"); err != nil || !ok {
				t.Fatalf("is blocked: %v %v", ok, err)
			}
			if ok, err := s.Mod.IsBlocked(ctx, "a", owner); err != nil || ok {
				t.Fatalf("blocking is one-way: %v %v", ok, err)
			}
			page, more, err := s.Mod.ListBlocks(ctx, owner, "", 2)
			want := []moderation.Block{{UserID: owner, BlockedID: "a", At: 7}, {UserID: owner, BlockedID: "b", At: 7}}
			if err != nil || !more || !reflect.DeepEqual(page, want) {
				t.Fatalf("page 1 %+v %v %v", page, more, err)
			}
			if page, more, err = s.Mod.ListBlocks(ctx, owner, "b", 2); err != nil || more || len(page) != 1 || page[0].BlockedID != "c" {
				t.Fatalf("page 2 %+v %v %v", page, more, err)
			}
			if ok, err := s.Mod.DeleteBlock(ctx, owner, "a"); err != nil || !ok {
				t.Fatalf("unblock: %v %v", ok, err)
			}
			if ok, err := s.Mod.DeleteBlock(ctx, owner, "a"); err != nil || ok {
				t.Fatalf("unblock twice: %v %v", ok, err)
			}
			if ok, _ := s.Mod.IsBlocked(ctx, owner, "a"); ok {
				t.Fatal("still blocked after unblock")
			}
		}},
		{"blockers of a sender", func(t *testing.T, s ModerationStores) {
			sender := storeID("sender")
			recipients := make([]string, 150) // two BatchGetItems
			for i := range recipients {
				recipients[i] = storeID(fmt.Sprintf("r%03d", i))
			}
			want := []string{recipients[5], recipients[120]}
			for _, b := range want {
				if err := s.Mod.PutBlock(ctx, moderation.Block{UserID: b, BlockedID: sender, At: 7}); err != nil {
					t.Fatal(err)
				}
			}
			// Blocking someone else, or being blocked by the sender, is not it.
			if err := s.Mod.PutBlock(ctx, moderation.Block{UserID: recipients[6], BlockedID: "other", At: 7}); err != nil {
				t.Fatal(err)
			}
			if err := s.Mod.PutBlock(ctx, moderation.Block{UserID: sender, BlockedID: recipients[7], At: 7}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Mod.BlockersOf(ctx, sender, recipients)
			slices.Sort(got)
			slices.Sort(want)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("blockers %v %v, want %v", got, err, want)
			}
			if got, err := s.Mod.BlockersOf(ctx, sender, nil); err != nil || len(got) != 0 {
				t.Fatalf("no recipients: %v %v", got, err)
			}
		}},
		{"word filter", func(t *testing.T, s ModerationStores) {
			f := moderation.WordFilter{Action: moderation.FilterMask, Words: []string{"darn", "heck"}, UpdatedAt: 5, UpdatedBy: "tk_x"}
			if err := s.Mod.PutWordFilter(ctx, f); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Mod.GetWordFilter(ctx); err != nil || !reflect.DeepEqual(got, f) {
				t.Fatalf("got %+v %v, want %+v", got, err, f)
			}
		}},
		{"reports", func(t *testing.T, s ModerationStores) {
			prefix := storeID("rp")
			var made []moderation.Report
			for i, id := range []string{"1", "2", "3"} {
				r := moderation.Report{ReportID: prefix + id, ReporterID: "u", ConversationID: "dm_a_b", Seq: int64(i + 1), SenderID: "b",
					Text: "hi", Reason: "spam", Status: moderation.ReportOpen, CreatedAt: int64(i)}
				if err := s.Mod.PutReport(ctx, r); err != nil {
					t.Fatal(err)
				}
				made = append(made, r)
			}
			if err := s.Mod.PutReport(ctx, made[0]); err == nil {
				t.Fatal("a report id was reused")
			}
			page, more, err := s.Mod.ListReports(ctx, "", prefix+"~", 2)
			if err != nil || !more || !reflect.DeepEqual(page, []moderation.Report{made[2], made[1]}) {
				t.Fatalf("newest first: %+v %v %v", page, more, err)
			}
			r, ok, err := s.Mod.ResolveReport(ctx, prefix+"2", "mod", "removed", 9)
			if err != nil || !ok || r.Status != moderation.ReportResolved || r.ResolvedBy != "mod" || r.Resolution != "removed" || r.ResolvedAt != 9 {
				t.Fatalf("resolve: %+v %v %v", r, ok, err)
			}
			if r, ok, err := s.Mod.ResolveReport(ctx, prefix+"2", "other", "x", 10); err != nil || ok || r == nil || r.ResolvedBy != "mod" {
				t.Fatalf("resolve twice: %+v %v %v", r, ok, err)
			}
			if r, _, err := s.Mod.ResolveReport(ctx, prefix+"9", "mod", "x", 10); err != nil || r != nil {
				t.Fatalf("resolve unknown: %+v %v", r, err)
			}
			open, _, err := s.Mod.ListReports(ctx, moderation.ReportOpen, prefix+"~", 10)
			if err != nil || len(open) < 2 || open[0].ReportID != prefix+"3" || open[1].ReportID != prefix+"1" {
				t.Fatalf("open reports: %+v %v", open, err)
			}
			if got, err := s.Mod.GetReport(ctx, prefix+"1"); err != nil || got == nil || !reflect.DeepEqual(*got, made[0]) {
				t.Fatalf("get: %+v %v", got, err)
			}
		}},
		{"app roles", func(t *testing.T, s ModerationStores) {
			name := "r" + storeID("")[1:]
			before, err := s.Mod.GetRoles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := s.Mod.PutRole(ctx, name, []string{"ban"}, len(before)+1); err != nil || !ok {
				t.Fatalf("put: %v %v", ok, err)
			}
			if ok, err := s.Mod.PutRole(ctx, name+"x", []string{"ban"}, len(before)+1); err != nil || ok {
				t.Fatalf("put beyond max: %v %v", ok, err)
			}
			if ok, err := s.Mod.PutRole(ctx, name, []string{"ban", "read_reports"}, len(before)+1); err != nil || !ok {
				t.Fatalf("redefine at max: %v %v", ok, err)
			}
			got, err := s.Mod.GetRoles(ctx)
			if err != nil || !reflect.DeepEqual(got[name], []string{"ban", "read_reports"}) {
				t.Fatalf("roles %+v %v", got, err)
			}
			if ok, err := s.Mod.PutRole(ctx, name, nil, 0); err != nil || !ok {
				t.Fatalf("remove: %v %v", ok, err)
			}
			if got, _ := s.Mod.GetRoles(ctx); got[name] != nil {
				t.Fatalf("removed role still there: %v", got[name])
			}
		}},
	})
}
