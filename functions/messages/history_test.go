package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/testenv"
)

// TestHistoryPaging holds GET .../messages to docs/openapi.yaml: with
// `after` (0 included: from the first message) the pages go forward,
// otherwise they end just below `before` or at the newest message, always
// oldest first, and the cursor continues in the same direction.
func TestHistoryPaging(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	a := testenv.User(u[0])
	first := f.call(t, a, send(`{"to_user":"`+u[1]+`","text":"m1"}`))
	if first.Status != 201 {
		t.Fatalf("send: %d %s", first.Status, first.Body)
	}
	dm := first.JSON["conversation_id"].(string)
	for i := 2; i <= 21; i++ {
		f.call(t, a, send(`{"conversation_id":"`+dm+`","text":"m`+fmt.Sprint(i)+`"}`))
	}

	tests := []struct {
		name  string
		query map[string]string
		want  string // the seqs of each page, pages separated by " | "
	}{
		{"after=0 goes forward from the first message", map[string]string{"after": "0", "limit": "6"}, "1-6 | 7-12 | 13-18 | 19-21"},
		{"after goes forward", map[string]string{"after": "15", "limit": "4"}, "16-19 | 20-21"},
		{"no bound ends at the newest and goes back", map[string]string{"limit": "6"}, "16-21 | 10-15 | 4-9 | 1-3"},
		{"before ends just below it and goes back", map[string]string{"before": "10", "limit": "4"}, "6-9 | 2-5 | 1"},
		{"after and before: forward within the range", map[string]string{"after": "5", "before": "12", "limit": "3"}, "6-8 | 9-11 | none"},
		{"after=0 and before", map[string]string{"after": "0", "before": "4", "limit": "2"}, "1-2 | 3"},
		{"after the last seq is empty", map[string]string{"after": "21"}, "none"},
		{"before=1 is empty", map[string]string{"before": "1"}, "none"},
		{"before=0 is empty", map[string]string{"before": "0"}, "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.walkHistory(t, dm, tc.query); got != tc.want {
				t.Fatalf("pages %q, want %q", got, tc.want)
			}
		})
	}

	// Send's Location (after=seq-1&limit=1) names the message it created,
	// the first one included.
	loc, err := url.Parse(first.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}
	q := map[string]string{}
	for k, v := range loc.Query() {
		q[k] = v[0]
	}
	r := f.call(t, a, conv("GET", "/messages", dm, q, ""))
	if ms, _ := r.JSON["messages"].([]any); len(ms) != 1 || ms[0].(map[string]any)["seq"] != float64(1) {
		t.Fatalf("Location %s: %d %s, want the first message", loc, r.Status, r.Body)
	}
}

// walkHistory follows next_cursor from a first query (at most 10 pages)
// and renders each page's seqs as a range ("1-6"), "none" when empty.
func (f fixture) walkHistory(t *testing.T, dm string, query map[string]string) string {
	t.Helper()
	var pages []string
	reader := testenv.User(strings.Split(dm, ":")[1]) // a participant
	for range 10 {
		r := f.call(t, reader, conv("GET", "/messages", dm, query, ""))
		if r.Status != 200 {
			t.Fatalf("history %v: %d %s", query, r.Status, r.Body)
		}
		var seqs []int
		for _, m := range r.JSON["messages"].([]any) {
			seqs = append(seqs, int(m.(map[string]any)["seq"].(float64)))
		}
		pages = append(pages, seqRange(t, seqs))
		next, _ := r.JSON["next_cursor"].(string)
		if next == "" {
			return strings.Join(pages, " | ")
		}
		query = map[string]string{"cursor": next, "limit": query["limit"]}
	}
	t.Fatalf("history %v did not end in 10 pages: %v", query, pages)
	return ""
}

// seqRange renders consecutive ascending seqs as "lo-hi" (or "n"); any
// other order fails the test, since pages are oldest first and gapless.
func seqRange(t *testing.T, seqs []int) string {
	t.Helper()
	if len(seqs) == 0 {
		return "none"
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("page seqs not consecutive oldest first: %v", seqs)
		}
	}
	if len(seqs) == 1 {
		return fmt.Sprint(seqs[0])
	}
	return fmt.Sprintf("%d-%d", seqs[0], seqs[len(seqs)-1])
}
