package ratelimit

import (
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// TestLimitTriggersAndRecovers: a burst passes, the next event waits the
// time the bucket needs, the per-minute bucket holds after the per-second
// one refills, keys are independent, and time restores each.
func TestLimitTriggersAndRecovers(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := New(func() time.Time { return now }, Limit{N: 2, Per: time.Second}, Limit{N: 3, Per: time.Minute})
	step := func(key string, want bool) time.Duration {
		t.Helper()
		ok, wait := l.Allow(key)
		if ok != want {
			t.Fatalf("%s at %v: allowed=%v, want %v", key, now.Sub(time.Unix(1_800_000_000, 0)), ok, want)
		}
		return wait
	}
	step("a", true)
	step("a", true)
	if wait := step("a", false); wait != 500*time.Millisecond {
		t.Fatalf("per-second wait %v, want 500ms", wait)
	}
	step("b", true) // another key is not affected
	now = now.Add(500 * time.Millisecond)
	step("a", true) // third of the minute
	now = now.Add(time.Second)
	if wait := step("a", false); wait < 18*time.Second || wait > 20*time.Second {
		t.Fatalf("per-minute wait %v, want about 18.5s", wait)
	}
	now = now.Add(20 * time.Second)
	step("a", true)
}

func TestError(t *testing.T) {
	e := apierror.Public(Error("messages", 1500*time.Microsecond))
	if e.Code != apierror.RateLimited || e.Details.(map[string]any)["retry_after_ms"] != int64(2) {
		t.Fatalf("%+v", e)
	}
}
