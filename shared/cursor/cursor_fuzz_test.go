package cursor

import (
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
)

type fuzzState struct {
	N int64  `json:"n"`
	S string `json:"s"`
	B []byte `json:"b,omitempty"`
}

// FuzzRoundTrip: Decode(Encode(x)) == x in the same scope; the token is
// refused in any other scope; a token with one byte changed is refused
// (invalid_cursor) or, where base64 leaves the change without effect,
// decodes to the very same state.
func FuzzRoundTrip(f *testing.F) {
	f.Add("conv#dm:a:b", int64(42), "seq", []byte("opaque-key"), uint(0), byte(1))
	f.Add("", int64(-1), "", []byte(nil), uint(30), byte(0x80))
	f.Add("users", int64(1<<62), "\u00e9\u4e16", []byte{0, 255}, uint(1000), byte(0xff))
	c := New([]byte("fuzz-signing-key-0123456789abcdef"))
	f.Fuzz(func(t *testing.T, scope string, n int64, s string, b []byte, pos uint, x byte) {
		if !utf8.ValidString(s) || !utf8.ValidString(scope) {
			return // JSON cannot carry them unchanged; callers put ids and keys here
		}
		in := fuzzState{N: n, S: s, B: b}
		if len(in.B) == 0 {
			in.B = nil
		}
		tok, err := c.Encode(scope, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) > maxToken {
			return // too long to be accepted; checked in FuzzForeign's terms
		}
		var out fuzzState
		if err := c.Decode(scope, tok, &out); err != nil {
			t.Fatalf("own token refused: %v", err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip: got %#v, want %#v", out, in)
		}
		var other fuzzState
		if err := c.Decode(scope+"x", tok, &other); apierror.CodeOf(err) != apierror.InvalidCursor {
			t.Fatalf("token accepted in another scope: %v", err)
		}
		if x == 0 {
			return
		}
		mut := []byte(tok)
		mut[pos%uint(len(mut))] ^= x
		var m fuzzState
		err = c.Decode(scope, string(mut), &m)
		if err == nil && !reflect.DeepEqual(m, in) {
			t.Fatalf("changed token %q accepted with other state %#v", mut, m)
		}
		if err != nil && apierror.CodeOf(err) != apierror.InvalidCursor {
			t.Fatalf("changed token: code %q", apierror.CodeOf(err))
		}
	})
}

// FuzzForeign: a token this codec did not sign is always invalid_cursor,
// whatever its bytes.
func FuzzForeign(f *testing.F) {
	c := New([]byte("fuzz-signing-key-0123456789abcdef"))
	other := New([]byte("another-key-0123456789abcdef-0000"))
	forged, _ := other.Encode("s", fuzzState{N: 1})
	for _, s := range []string{forged, "e30", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%%%", "eyJzIjoicyIsInYiOnt9fQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == "" {
			return // the first page
		}
		var v fuzzState
		if err := c.Decode("s", tok, &v); apierror.CodeOf(err) != apierror.InvalidCursor {
			t.Fatalf("foreign token %q: %v (state %#v)", tok, err, v)
		}
	})
}
