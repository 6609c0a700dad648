package cursor

import (
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

type state struct {
	Page  []byte `json:"p,omitempty"`
	Shard int    `json:"n"`
}

func TestRoundTrip(t *testing.T) {
	c := New([]byte("k1"))
	in := state{Page: []byte{0, 1, 0xff, '"'}, Shard: 3}
	tok, err := c.Encode("users", in)
	if err != nil || tok == "" {
		t.Fatal(tok, err)
	}
	var got state
	if err := c.Decode("users", tok, &got); err != nil || string(got.Page) != string(in.Page) || got.Shard != 3 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	untouched := state{Shard: 7}
	if err := c.Decode("users", "", &untouched); err != nil || untouched.Shard != 7 {
		t.Fatalf("empty token must be the first page and leave state alone: %+v %v", untouched, err)
	}
}

func TestRejects(t *testing.T) {
	c := New([]byte("k1"))
	tok, err := c.Encode("users", state{Shard: 3})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Encode("users", map[string]int{"zz": 1})
	if err != nil {
		t.Fatal(err)
	}
	flip := []byte(tok)
	flip[len(flip)-2] ^= 1
	tests := []struct {
		name, scope, token string
		codec              *Codec
	}{
		{"not base64", "users", "not base64 !!", c},
		{"too short", "users", "abc", c},
		{"tampered", "users", string(flip), c},
		{"truncated", "users", tok[:len(tok)-3], c},
		{"too long", "users", strings.Repeat("A", 5000), c},
		{"other scope", "conversation:other", tok, c},
		{"other key", "users", tok, New([]byte("k2"))},
		{"state of another shape", "users", other, c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got state
			if err := tt.codec.Decode(tt.scope, tt.token, &got); !apierror.Is(err, apierror.InvalidCursor) {
				t.Errorf("Decode = %v, want invalid_cursor", err)
			}
		})
	}
}
