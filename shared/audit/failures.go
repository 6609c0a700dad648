package audit

import (
	"context"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Failures summarises repeated failed authentication from one source:
// instead of an entry per failure (an attacker could fill the log, and
// pay nothing for it), a sandbox counts failures per source in a window
// and writes one "auth.failed" entry when the count reaches 5, 50, 500
// and 5,000 (Count says which). Counts are per sandbox, like the rate
// limits; a source spread over N sandboxes shows as up to N entries.
type Failures struct {
	rec *Recorder
	now func() time.Time

	mu      sync.Mutex
	sources *lru.Cache[string, *failWindow]
}

type failWindow struct {
	start time.Time
	n     int
}

// FailureWindow is how long a source's count runs before it restarts.
const FailureWindow = 10 * time.Minute

// FailureMarks are the counts that write an entry.
var FailureMarks = []int{5, 50, 500, 5000}

// NewFailures builds the summariser over rec.
func NewFailures(rec *Recorder, now func() time.Time) *Failures {
	if now == nil {
		now = time.Now
	}
	c, _ := lru.New[string, *failWindow](10_000) // errors only on a size <= 0
	return &Failures{rec: rec, now: now, sources: c}
}

// Failed counts one failure of kind (e.g. "invalid_token") from m.SourceIP.
func (f *Failures) Failed(ctx context.Context, m Meta, kind string) {
	if f == nil || m.SourceIP == "" {
		return
	}
	now := f.now()
	f.mu.Lock()
	w, ok := f.sources.Get(m.SourceIP)
	if !ok || now.Sub(w.start) >= FailureWindow {
		w = &failWindow{start: now}
		f.sources.Add(m.SourceIP, w)
	}
	w.n++
	n := w.n
	f.mu.Unlock()
	if slices.Contains(FailureMarks, n) {
		f.rec.Record(ctx, m, Entry{Actor: "ip:" + m.SourceIP, Action: "auth.failed", Target: kind, Count: n})
	}
}
