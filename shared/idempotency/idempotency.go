// Package idempotency holds the Idempotency-Key rules shared by every
// operation that accepts the header (POST /v1/users, PUT /v1/users/{id},
// POST /v1/groups, POST /v1/jobs/*): what a valid key is, how long a key
// is remembered, and how a request is fingerprinted so that a retry with
// the same key and another body is told apart from a true retry.
package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// TTL is how long a key is remembered: a retry later than this is a new
// request.
const TTL = 24 * time.Hour

// MaxKeyLength is the longest key accepted, in bytes (keys are ASCII).
const MaxKeyLength = 255

// ValidateKey checks a key that was given: 1 to 255 printable ASCII
// characters without spaces (docs/openapi.yaml's pattern ^[\x21-\x7e]+$).
// An empty key is refused, not treated as absent: a client that sends the
// header meant to be safe to retry, and would not be.
func ValidateKey(k string) error {
	if k == "" || len(k) > MaxKeyLength || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return apierror.New(apierror.ValidationFailed, "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.").
			WithDetails(map[string]string{"field": Header})
	}
	return nil
}

// Fingerprint identifies a request by the JSON of v: the same key with
// another fingerprint is idempotency_key_reused. Stored fingerprints
// outlive a deployment by up to TTL, so this encoding must not change.
func Fingerprint(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// NewHash starts a fingerprint over a stream (a file body too large to
// copy into a struct); Sum finishes it in Fingerprint's format.
func NewHash() hash.Hash { return sha256.New() }

// Sum is the fingerprint of what was written to h (from NewHash).
func Sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)[:16]) }
