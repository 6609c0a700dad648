package webhooks

// One delivery attempt and the retry schedule. An attempt POSTs the
// event's envelope (shared/events.Event as JSON) with the Standard
// Webhooks headers; webhook-id is the event's id, the same on every
// attempt and on a replay, so receivers deduplicate by it. A 2xx answer
// delivers; a timeout (5 s), a connection failure, a 5xx or a 429 is
// retried on Schedule; any other status is final (the receiver refused
// it: retrying would not help) and dead-letters the delivery.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Timeout bounds one attempt.
const Timeout = 5 * time.Second

// Schedule is the wait before each retry: attempt n+2 waits Schedule[n]
// after attempt n+1 failed. 7 retries, 8 attempts over 27 h 35 m (the
// Standard Webhooks reference schedule); then the delivery is
// dead-lettered.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// DisableAfter is the documented threshold: an endpoint whose deliveries
// were dead-lettered this many times in a row, with no success between,
// is disabled (its deliveries are kept, to replay once it is re-enabled).
const DisableAfter = 5

// Outcome is what one attempt did.
type Outcome struct {
	At       time.Time     `json:"at"`
	Status   int           `json:"status,omitempty"` // HTTP status (0: none)
	Error    string        `json:"error,omitempty"`  // "timeout", "connection" or "refused_address"
	Duration time.Duration `json:"duration_ms"`
	OK       bool          `json:"ok"`
	Retry    bool          `json:"retry"` // worth another attempt
}

// Sender makes attempts.
type Sender struct {
	// Client should dial with Policy.SafeDialer.
	Client  *http.Client
	Timeout time.Duration // per attempt; 0: Timeout
}

// Attempt delivers body once to url, signed with keys.
func (s *Sender) Attempt(ctx context.Context, url string, keys Keys, id string, body []byte, now time.Time) Outcome {
	out := Outcome{At: now}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = Timeout
	}
	sig, err := keys.Sign(id, now, body)
	if err != nil {
		out.Error = "signing"
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		out.Error = "request"
		return out
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TokenIM-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := s.Client.Do(req)
	out.Duration = time.Since(start)
	if err != nil {
		var ue *URLError
		switch {
		case errors.As(err, &ue):
			out.Error = "refused_address" // final: the target is not allowed
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			out.Error, out.Retry = "timeout", true
		default:
			out.Error, out.Retry = "connection", true
		}
		return out
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	out.Status = resp.StatusCode
	out.OK = resp.StatusCode/100 == 2
	out.Retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return out
}

// NextAttempt is when attempt number n+1 (n attempts made, the last
// failed retryably) is due; ok is false when the schedule is spent and
// the delivery goes to the dead-letter store.
func NextAttempt(n int, last time.Time) (time.Time, bool) {
	if n < 1 || n > len(Schedule) {
		return time.Time{}, false
	}
	return last.Add(Schedule[n-1]), true
}

// Deliver makes attempts until one delivers, one fails for good, or the
// schedule is spent, waiting with wait between them (a worker waits with
// a delayed queue message; tests with a fake clock). It returns every
// attempt's outcome, and whether the event was delivered.
func (s *Sender) Deliver(ctx context.Context, url string, keys Keys, id string, body []byte,
	now func() time.Time, wait func(context.Context, time.Duration) error) ([]Outcome, bool) {
	var outs []Outcome
	for {
		o := s.Attempt(ctx, url, keys, id, body, now())
		outs = append(outs, o)
		if o.OK || !o.Retry {
			return outs, o.OK
		}
		due, ok := NextAttempt(len(outs), o.At)
		if !ok {
			return outs, false
		}
		if err := wait(ctx, due.Sub(o.At)); err != nil {
			return outs, false
		}
	}
}

// NewSender returns a Sender whose client connects only where p allows
// (SafeDialer: checked on the address dialled, after DNS), follows no
// redirects (a 3xx is the receiver's answer, final) and times each
// attempt out after Timeout.
func NewSender(p Policy) *Sender {
	return &Sender{Client: &http.Client{
		Transport:     &http.Transport{DialContext: p.SafeDialer(Timeout).DialContext, TLSHandshakeTimeout: Timeout, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}
