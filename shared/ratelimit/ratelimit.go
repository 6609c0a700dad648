// Package ratelimit is a per-sandbox token bucket per key (a user, a
// credential, a source IP), over golang.org/x/time/rate. It costs no
// request: each Lambda sandbox counts what it serves. Its precision is
// therefore per sandbox: with N warm sandboxes serving one key, the key
// can pass up to N times the limit in the worst case (docs/permissions.md,
// "Rate limits"); a key's traffic usually lands on few sandboxes, and a
// limit that must hold exactly needs a shared counter (a DynamoDB write
// per request), which is what this avoids.
package ratelimit

import (
	"math"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Limit is one bucket: N events per Per, with bursts up to Burst (0: N).
type Limit struct {
	N     int
	Per   time.Duration
	Burst int
}

// Size is the bucket's size: the most events that pass at once.
func (l Limit) Size() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return l.N
}

// Limiter holds every key's buckets, for at most MaxKeys keys (the least
// recently used key is forgotten first: it starts again with full buckets).
type Limiter struct {
	limits []Limit
	now    func() time.Time
	mu     sync.Mutex
	keys   *lru.Cache[string, []*rate.Limiter]
}

// MaxKeys bounds a sandbox's memory: about 200 bytes per key.
const MaxKeys = 50_000

// New builds a limiter that allows an event only when every limit does.
func New(now func() time.Time, limits ...Limit) *Limiter {
	if now == nil {
		now = time.Now
	}
	c, _ := lru.New[string, []*rate.Limiter](MaxKeys) // errors only on a size <= 0
	return &Limiter{limits: limits, now: now, keys: c}
}

// Allow takes one event for key from every bucket, or none: when a bucket
// is empty it returns false and how long until the event would pass.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls, ok := l.keys.Get(key)
	if !ok {
		ls = make([]*rate.Limiter, len(l.limits))
		for i, lim := range l.limits {
			ls[i] = rate.NewLimiter(rate.Limit(float64(lim.N)/lim.Per.Seconds()), lim.Size())
		}
		l.keys.Add(key, ls)
	}
	now := l.now()
	rs := make([]*rate.Reservation, 0, len(ls))
	var wait time.Duration
	for _, b := range ls {
		r := b.ReserveN(now, 1)
		rs = append(rs, r)
		if d := r.DelayFrom(now); d > wait {
			wait = d
		}
	}
	if wait == 0 {
		return true, 0
	}
	for _, r := range rs {
		r.CancelAt(now)
	}
	return false, wait
}

// Error is the rate_limited refusal for a wait: details.retry_after_ms
// (REST adds Retry-After, in whole seconds rounded up).
func Error(what string, wait time.Duration) error {
	ms := int64(math.Ceil(float64(wait) / float64(time.Millisecond)))
	if ms < 1 {
		ms = 1
	}
	return apierror.New(apierror.RateLimited, "Too many %s; retry after %d ms.", what, ms).
		WithDetails(map[string]any{"retry_after_ms": ms})
}
