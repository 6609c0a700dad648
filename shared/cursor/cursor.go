// Package cursor turns a use case's typed page state into an opaque,
// signed page token and back. Tokens are HMAC-signed and bound to a scope
// (the listing they came from), so a client cannot forge a position, replay
// a cursor from another conversation, or hand a storage adapter a start key
// it did not produce: every such cursor is a plain 400 invalid_cursor.
//
// The state is any JSON-encodable struct; a storage adapter's own page token
// travels inside it as opaque bytes ([]byte fields encode as base64), so this
// package knows nothing about the storage behind a listing.
package cursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Codec signs and verifies cursors.
type Codec struct{ key []byte }

// New returns a codec; key should be secret (derived from the signing key).
func New(key []byte) *Codec {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tokenim-cursor-v2"))
	return &Codec{key: m.Sum(nil)}
}

// maxToken bounds an accepted token before any decoding work.
const maxToken = 4096

// macLen is the truncated HMAC length prefixed to every token.
const macLen = 16

type wire struct {
	Scope string          `json:"s"`
	State json.RawMessage `json:"v"`
}

// Encode returns the token carrying v in scope. Callers encode only when
// there is a next page; an absent cursor is "".
func (c *Codec) Encode(scope string, v any) (string, error) {
	state, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cursor: encode state: %w", err)
	}
	body, err := json.Marshal(wire{Scope: scope, State: state})
	if err != nil {
		return "", fmt.Errorf("cursor: encode: %w", err)
	}
	m := hmac.New(sha256.New, c.key)
	m.Write(body)
	return base64.RawURLEncoding.EncodeToString(append(m.Sum(nil)[:macLen], body...)), nil
}

// Decode verifies token and decodes its state into v (a pointer). An empty
// token is the first page: v is left untouched. Any other failure is
// invalid_cursor, including state that does not fit v.
func (c *Codec) Decode(scope, token string, v any) error {
	if token == "" {
		return nil
	}
	bad := apierror.New(apierror.InvalidCursor, "The cursor is invalid; use the next_cursor value of a previous page unchanged.")
	if len(token) > maxToken {
		return bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) <= macLen {
		return bad
	}
	mac, body := raw[:macLen], raw[macLen:]
	m := hmac.New(sha256.New, c.key)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)[:macLen]) {
		return bad
	}
	var w wire
	if err := json.Unmarshal(body, &w); err != nil || w.Scope != scope || len(w.State) == 0 {
		return bad
	}
	dec := json.NewDecoder(bytes.NewReader(w.State))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad
	}
	return nil
}
