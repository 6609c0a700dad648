package main

import (
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestReportLimits (issue 17): a user files at most 10 reports a minute
// (the 11th gets rate_limited with details.retry_after_ms and nothing is
// stored) and 100 a day: with the per-minute bucket refilled, the 101st
// of the day is still refused. Another user is not affected.
func TestReportLimits(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	svc := moderation.NewService(f.mod, permissions.NewRoleBook(f.mod, nil), ChatReader{Chat: f.chat}, func() time.Time { return now })
	ids := testenv.NewUsers(t, f.users, "rl", 2)
	a, b := ids[0], ids[1]
	m, _, err := f.chat.Send(ctx, *testenv.User(a), chat.SendInput{ToUser: b, Text: "hey"})
	if err != nil {
		t.Fatal(err)
	}
	in := moderation.ReportInput{ConversationID: string(m.ConversationID), Seq: m.Seq, Reason: "rude"}
	report := func(user string) error {
		_, err := svc.CreateReport(ctx, *testenv.User(user), in)
		return err
	}
	stored := func() int {
		t.Helper()
		page, err := svc.ListReports(ctx, "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range page.Reports {
			if r.ReporterID == b {
				n++
			}
		}
		return n
	}
	perMin, perDay := moderation.ReportLimits[0].N, moderation.ReportLimits[1].N
	for i := range perMin {
		if err := report(b); err != nil {
			t.Fatalf("report %d within the limit: %v", i, err)
		}
	}
	err = report(b)
	if apierror.CodeOf(err) != apierror.RateLimited {
		t.Fatalf("report %d in a minute: %v", perMin+1, err)
	}
	ms, _ := apierror.Public(err).Details.(map[string]any)["retry_after_ms"].(int64)
	if ms < 1 || ms > 60_000 {
		t.Fatalf("report %d in a minute: %v (retry_after_ms %d)", perMin+1, err, ms)
	}
	if n := stored(); n != perMin {
		t.Fatalf("%d reports stored, want %d", n, perMin)
	}
	if err := report(a); err != nil {
		t.Fatalf("another user's report: %v", err)
	}
	filed := perMin
	for filed < perDay {
		now = now.Add(time.Minute)
		for range perMin {
			if err := report(b); err != nil {
				t.Fatalf("report %d of the day: %v", filed+1, err)
			}
			filed++
		}
	}
	// The per-minute bucket is full again; the day's refills (one per
	// 14.4 minutes) have not made a whole report since the first.
	now = now.Add(time.Minute)
	if err := report(b); apierror.CodeOf(err) != apierror.RateLimited {
		t.Fatalf("report %d of the day: %v", perDay+1, err)
	}
	now = now.Add(24 * time.Hour)
	if err := report(b); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}
