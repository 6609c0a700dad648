// Package webpush is the Web Push adapter (RFC 8030 delivery, RFC 8291
// message encryption, RFC 8292 VAPID), a push.Sender for web devices,
// over github.com/SherClockHolmes/webpush-go. The VAPID key pair is
// derived from a random secret generated at deploy time (VapidKeySecret in
// template.yaml), so no key ever appears in the template or a log.
package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"

	"github.com/tokenim/tokenim/shared/push"
)

// TTL is how long a push service keeps a push for an offline browser.
const TTL = time.Hour

// Sender posts encrypted pushes to browsers' push services.
type Sender struct {
	client     *http.Client
	subscriber string
	public     string // base64url, uncompressed P-256 point (applicationServerKey)
	private    string // base64url scalar
}

var _ push.Sender = (*Sender)(nil)

// Keys derives the VAPID key pair from seed (the secret's value): the
// P-256 scalar is SHA-256 over a label, a counter and the seed, the first
// that is a valid key. The same seed always gives the same keys, so every
// worker signs with the key the browsers subscribed with.
func Keys(seed []byte) (public, private string, err error) {
	if len(seed) < 32 {
		return "", "", errors.New("webpush: VAPID seed shorter than 32 bytes")
	}
	for i := uint32(0); i < 16; i++ {
		h := sha256.New()
		h.Write([]byte("tokenim vapid v1"))
		binary.Write(h, binary.BigEndian, i)
		h.Write(seed)
		k, err := ecdh.P256().NewPrivateKey(h.Sum(nil))
		if err != nil {
			continue // zero or above the group order: try the next
		}
		return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(k.Bytes()), nil
	}
	return "", "", errors.New("webpush: no valid VAPID key from seed")
}

// New returns a sender signing with the key derived from seed, as
// subject (a mailto: or https: URL), posting with client (nil: a client
// with a 10 s timeout).
func New(seed []byte, subject string, client *http.Client) (*Sender, error) {
	pub, priv, err := Keys(seed)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	// webpush-go adds "mailto:" to anything that is not an https URL.
	return &Sender{client: client, subscriber: strings.TrimPrefix(subject, "mailto:"), public: pub, private: priv}, nil
}

// PublicKey is the applicationServerKey browsers subscribe with.
func (s *Sender) PublicKey() string { return s.public }

// Payload is the JSON a service worker receives (docs/push.md).
type Payload struct {
	Title string            `json:"title,omitempty"`
	Body  string            `json:"body"`
	Badge *int64            `json:"badge,omitempty"`
	Tag   string            `json:"tag"`
	Data  map[string]string `json:"data,omitempty"`
}

// PayloadOf is what a browser is sent for a.
func PayloadOf(a push.Alert) Payload {
	p := Payload{Title: a.Title, Body: a.Body, Tag: a.ThreadID, Data: a.Data}
	if a.Badge >= 0 {
		b := a.Badge
		p.Badge = &b
	}
	return p
}

// Send encrypts and posts a to d's subscription. 201 (or any 2xx) is
// sent; 404 and 410 mean the subscription is gone; 400, 403 and 413 are
// refusals a retry cannot fix; anything else may succeed later.
func (s *Sender) Send(ctx context.Context, d push.Device, a push.Alert) (push.Sent, error) {
	if d.Keys == nil {
		return push.Sent{}, fmt.Errorf("%w: web device without keys", push.ErrRejected)
	}
	body, err := json.Marshal(PayloadOf(a))
	if err != nil {
		return push.Sent{}, fmt.Errorf("%w: %v", push.ErrRejected, err)
	}
	resp, err := wp.SendNotificationWithContext(ctx, body, &wp.Subscription{Endpoint: d.Token, Keys: wp.Keys{Auth: d.Keys.Auth, P256dh: d.Keys.P256dh}},
		&wp.Options{HTTPClient: s.client, Subscriber: s.subscriber, Topic: a.CollapseID, TTL: int(TTL.Seconds()), Urgency: wp.UrgencyHigh,
			VAPIDPublicKey: s.public, VAPIDPrivateKey: s.private})
	if err != nil {
		return push.Sent{}, fmt.Errorf("webpush: post: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return push.Sent{}, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return push.Sent{}, fmt.Errorf("webpush: %d: %w", resp.StatusCode, push.ErrDeviceGone)
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusRequestEntityTooLarge:
		return push.Sent{}, fmt.Errorf("webpush: %d: %w", resp.StatusCode, push.ErrRejected)
	}
	return push.Sent{}, fmt.Errorf("webpush: push service answered %d", resp.StatusCode)
}
