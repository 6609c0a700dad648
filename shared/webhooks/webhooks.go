// Package webhooks delivers TokenIM's domain events (shared/events) to an
// app's HTTPS endpoints following the Standard Webhooks specification
// (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 with a
// "whsec_" secret), signed by the specification's own Go library, so a
// receiver verifies with any of its published libraries. This package is
// the domain: secrets and rotation, signing, target policy (target.go),
// one delivery attempt and the retry schedule (deliver.go). No AWS SDK.
package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// Secret sizes: generated secrets are 32 random bytes; an app's own
// secret (rotation to a chosen value) must decode to 24..64 bytes.
const (
	secretBytes    = 32
	minSecretBytes = 24
	maxSecretBytes = 64
)

// RotationOverlap is how long the previous secret keeps signing after a
// rotation, so receivers can switch without losing a delivery.
const RotationOverlap = 24 * time.Hour

// NewSecret returns a fresh signing secret.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// CheckSecret validates an app-chosen secret.
func CheckSecret(s string) error {
	raw, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return fmt.Errorf("webhooks: a secret starts with %s", SecretPrefix)
	}
	if len(raw) > base64.StdEncoding.EncodedLen(maxSecretBytes) {
		return fmt.Errorf("webhooks: a secret decodes to at most %d bytes", maxSecretBytes)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(b) < minSecretBytes || len(b) > maxSecretBytes {
		return fmt.Errorf("webhooks: a secret is base64 of %d to %d bytes", minSecretBytes, maxSecretBytes)
	}
	return nil
}

// Keys are an endpoint's signing secrets: the current one, and the one it
// replaced until PreviousUntil.
type Keys struct {
	Current       string
	Previous      string
	PreviousUntil time.Time
}

// Rotate makes next the current secret; the old one keeps signing for
// RotationOverlap.
func (k Keys) Rotate(next string, now time.Time) Keys {
	return Keys{Current: next, Previous: k.Current, PreviousUntil: now.Add(RotationOverlap)}
}

// Sign returns the webhook-signature header for one delivery: a "v1,"
// signature per valid secret, space-separated, as the specification
// allows during a rotation.
func (k Keys) Sign(id string, ts time.Time, body []byte) (string, error) {
	secrets := []string{k.Current}
	if k.Previous != "" && ts.Before(k.PreviousUntil) {
		secrets = append(secrets, k.Previous)
	}
	var sigs []string
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return "", fmt.Errorf("webhooks: secret: %w", err)
		}
		sig, err := wh.Sign(id, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}
