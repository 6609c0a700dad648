// Package recorder is the push.Sender of local development: instead of
// reaching APNs, FCM or a browser's push service, it posts what would
// have been sent to the local stack (POST /_local/push), which lists it
// at GET /_local/push and shows it in the demo's phone panel
// (docs/push.md, "Locally").
package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tokenim/tokenim/shared/push"
)

// Record is one would-be push.
type Record struct {
	UserID   string        `json:"user_id"`
	DeviceID string        `json:"device_id"`
	Platform push.Platform `json:"platform"`
	// TokenHint is the token's last characters (never the token).
	TokenHint string     `json:"token_hint"`
	Alert     push.Alert `json:"alert"`
	At        time.Time  `json:"at"`
}

// Sender posts records to URL.
type Sender struct {
	URL    string
	Client *http.Client
}

var _ push.Sender = (*Sender)(nil)

// New returns a sender posting to url with a 5 s timeout.
func New(url string) *Sender {
	return &Sender{URL: url, Client: &http.Client{Timeout: 5 * time.Second}}
}

// Send posts the record; a non-2xx answer is a retryable failure.
func (s *Sender) Send(ctx context.Context, d push.Device, a push.Alert) (push.Sent, error) {
	b, err := json.Marshal(Record{UserID: d.UserID, DeviceID: d.DeviceID, Platform: d.Platform, TokenHint: d.View().TokenHint, Alert: a, At: time.Now().UTC()})
	if err != nil {
		return push.Sent{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(b))
	if err != nil {
		return push.Sent{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		return push.Sent{}, fmt.Errorf("recorder: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return push.Sent{}, fmt.Errorf("recorder: %s answered %d", s.URL, resp.StatusCode)
	}
	return push.Sent{}, nil
}
