// Package cursor turns DynamoDB's LastEvaluatedKey into an opaque page
// token and back. Tokens are HMAC-signed and bound to a scope (the listing
// they came from), so a client cannot forge a start key, replay a cursor
// from another conversation, or make DynamoDB reject a malformed key: every
// such cursor is a plain 400 invalid_cursor.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Codec signs and verifies cursors.
type Codec struct{ key []byte }

// New returns a codec; key should be secret (derived from the signing key).
func New(key []byte) *Codec {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tokenim-cursor-v1"))
	return &Codec{key: m.Sum(nil)}
}

type wire struct {
	Scope string            `json:"s"`
	Key   map[string]attr   `json:"k,omitempty"`
	Extra map[string]string `json:"x,omitempty"`
}

// attr holds a string or number key attribute (the only key types we use).
type attr struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
}

// Page is a decoded cursor: a DynamoDB start key plus optional extra state
// (e.g. which shard a sharded listing is on).
type Page struct {
	Key   map[string]types.AttributeValue
	Extra map[string]string
}

// Encode returns the token for p in scope, or "" when there is no next page.
func (c *Codec) Encode(scope string, p Page) (string, error) {
	if len(p.Key) == 0 && len(p.Extra) == 0 {
		return "", nil
	}
	w := wire{Scope: scope, Key: map[string]attr{}, Extra: p.Extra}
	for k, v := range p.Key {
		switch t := v.(type) {
		case *types.AttributeValueMemberS:
			s := t.Value
			w.Key[k] = attr{S: &s}
		case *types.AttributeValueMemberN:
			n := t.Value
			w.Key[k] = attr{N: &n}
		default:
			return "", fmt.Errorf("cursor: unsupported key attribute %s of type %T", k, v)
		}
	}
	body, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("cursor: encode: %w", err)
	}
	m := hmac.New(sha256.New, c.key)
	m.Write(body)
	return base64.RawURLEncoding.EncodeToString(append(m.Sum(nil)[:16], body...)), nil
}

// Decode verifies token and returns its page. An empty token is the first page.
func (c *Codec) Decode(scope, token string) (Page, error) {
	if token == "" {
		return Page{}, nil
	}
	bad := apierror.New(apierror.InvalidCursor, "The cursor is invalid; use the next_cursor value of a previous page unchanged.")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 17 || len(token) > 4096 {
		return Page{}, bad
	}
	mac, body := raw[:16], raw[16:]
	m := hmac.New(sha256.New, c.key)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)[:16]) {
		return Page{}, bad
	}
	var w wire
	if err := json.Unmarshal(body, &w); err != nil || w.Scope != scope {
		return Page{}, bad
	}
	p := Page{Extra: w.Extra}
	if len(w.Key) > 0 {
		p.Key = map[string]types.AttributeValue{}
	}
	for k, v := range w.Key {
		switch {
		case v.S != nil:
			p.Key[k] = &types.AttributeValueMemberS{Value: *v.S}
		case v.N != nil:
			p.Key[k] = &types.AttributeValueMemberN{Value: *v.N}
		default:
			return Page{}, bad
		}
	}
	return p, nil
}
