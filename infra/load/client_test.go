package main

import (
	"testing"
	"time"
)

// TestConvState pins the "Staying in sync" rules the load clients follow:
// a duplicate by seq is dropped, a pushed seq past last+1 asks for a sync
// from the last seq held before the gap, and last only moves over seqs
// actually held.
func TestConvState(t *testing.T) {
	type step struct {
		seq      int64
		via      source
		wantDup  bool
		wantGap  bool
		wantFrom int64
		wantLast int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, viaPush, false, false, 0, 1}, {2, viaPush, false, false, 1, 2}}},
		{"duplicate push dropped", []step{{1, viaPush, false, false, 0, 1}, {1, viaPush, true, false, 1, 1}}},
		{"gap asks for a sync from the last held", []step{{1, viaPush, false, false, 0, 1}, {3, viaPush, false, true, 1, 1},
			{2, viaGapSync, false, false, 1, 3}}},
		{"a synced page past a gap does not ask again", []step{{2, viaConnectSync, false, false, 0, 0}, {1, viaConnectSync, false, false, 0, 2}}},
		{"late push below a gap fills it", []step{{2, viaPush, false, true, 0, 0}, {1, viaPush, false, false, 0, 2}, {2, viaGapSync, true, false, 2, 2}}},
		{"own ack counts as held", []step{{1, viaAck, false, false, 0, 1}, {1, viaPush, true, false, 1, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConvState()
			for i, s := range tc.steps {
				dup, gap, from := c.apply(s.seq, "m", s.via, time.Now())
				if dup != s.wantDup || gap != s.wantGap || from != s.wantFrom || c.last != s.wantLast {
					t.Fatalf("step %d (seq %d via %s): dup %v gap %v since %d last %d, want %v %v %d %d",
						i, s.seq, s.via, dup, gap, from, c.last, s.wantDup, s.wantGap, s.wantFrom, s.wantLast)
				}
			}
		})
	}
}

// TestNextStep pins the retry rule of docs/websocket.md.
func TestNextStep(t *testing.T) {
	tests := []struct {
		name         string
		kind         replyKind
		code         string
		retryAfterMs int
		attempt      int
		wantRetry    bool
		minWait      time.Duration
		maxWait      time.Duration
	}{
		{"ack ends", replyAck, "", 0, 0, false, 0, 0},
		{"service_unavailable waits retry_after_ms", replyError, "service_unavailable", 2000, 0, true, 2 * time.Second, 3 * time.Second},
		{"rate_limited without retry_after waits 1 s", replyError, "rate_limited", 0, 1, true, time.Second, 1500 * time.Millisecond},
		{"generic frame waits 1 s with jitter", replyGeneric, "Internal server error", 0, 2, true, time.Second, 1500 * time.Millisecond},
		{"no reply within 10 s waits 1 s with jitter", replyNone, "", 0, 3, true, time.Second, 1500 * time.Millisecond},
		{"a dropped socket resends at once", replyDropped, "", 0, 0, true, 0, 0},
		{"other error is final", replyError, "not_found", 0, 0, false, 0, 0},
		{"five retries at most", replyGeneric, "", 0, maxRetries, false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			retry, wait := nextStep(tc.kind, tc.code, tc.retryAfterMs, tc.attempt)
			if retry != tc.wantRetry || wait < tc.minWait || wait > tc.maxWait {
				t.Fatalf("retry %v wait %v, want %v in [%v, %v]", retry, wait, tc.wantRetry, tc.minWait, tc.maxWait)
			}
		})
	}
}
