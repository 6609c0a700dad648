// Package pushtest is a fake push platform for tests: a push.Sender that
// records every alert per device and can disable a token (as SNS disables
// an endpoint APNs or FCM reported invalid) or fail pushes retryably.
package pushtest

import (
	"context"
	"errors"
	"sync"

	"github.com/tokenim/tokenim/shared/push"
)

// Pushed is one alert sent to one device.
type Pushed struct {
	UserID, DeviceID string
	Platform         push.Platform
	Token            string
	Alert            push.Alert
}

// Recorder records pushes. The zero value is ready.
type Recorder struct {
	mu       sync.Mutex
	pushes   []Pushed
	disabled map[string]bool
	failures map[string]int
	attempts int
}

var _ push.Sender = (*Recorder)(nil)

// ErrUnavailable is the retryable failure FailNext injects.
var ErrUnavailable = errors.New("pushtest: platform unavailable")

// Send records a, or fails as set up. A mobile device without an endpoint
// gets one, as the SNS sender creates it on the first push.
func (r *Recorder) Send(_ context.Context, d push.Device, a push.Alert) (push.Sent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.disabled[d.Token] {
		return push.Sent{}, push.ErrDeviceGone
	}
	if r.failures[d.Token] > 0 {
		r.failures[d.Token]--
		return push.Sent{}, ErrUnavailable
	}
	r.pushes = append(r.pushes, Pushed{UserID: d.UserID, DeviceID: d.DeviceID, Platform: d.Platform, Token: d.Token, Alert: a})
	var s push.Sent
	if d.Platform.Mobile() && d.EndpointARN == "" {
		s.EndpointARN = "arn:aws:sns:us-east-1:000000000000:endpoint/fake/" + d.TokenHash()[:12]
	}
	return s, nil
}

// Disable makes every push to token answer ErrDeviceGone.
func (r *Recorder) Disable(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.disabled == nil {
		r.disabled = map[string]bool{}
	}
	r.disabled[token] = true
}

// FailNext makes the next n pushes to token fail retryably.
func (r *Recorder) FailNext(token string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures = map[string]int{}
	}
	r.failures[token] += n
}

// To returns the alerts a user's device got, in the order sent.
func (r *Recorder) To(user, device string) []push.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []push.Alert
	for _, p := range r.pushes {
		if p.UserID == user && p.DeviceID == device {
			out = append(out, p.Alert)
		}
	}
	return out
}

// ToUser counts the pushes to any device of user.
func (r *Recorder) ToUser(user string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.pushes {
		if p.UserID == user {
			n++
		}
	}
	return n
}

// Attempts counts every Send, failed ones included.
func (r *Recorder) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}
