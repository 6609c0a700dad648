package auth

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/apierror"
)

var fuzzNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fuzzTokens(tb testing.TB) *Tokens {
	tb.Helper()
	tk, err := NewTokens([]byte("fuzz-signing-key-0123456789abcdef"), "https://tokenim.test", func() time.Time { return fuzzNow })
	if err != nil {
		tb.Fatal(err)
	}
	return tk
}

// signed is a token over arbitrary claims, signed with m and key.
func signed(tb testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzVerifyIssued: a token this service issued verifies to the subject,
// audience and generation it was issued with; the same token with one byte
// changed is refused with invalid_token, unless the change leaves the
// decoded token identical (base64's unused trailing bits), in which case it
// verifies to exactly the same claims.
func FuzzVerifyIssued(f *testing.F) {
	f.Add("alice", int64(7), false, uint(0), byte(1))
	f.Add("tk_admin", int64(0), true, uint(40), byte(0x20))
	f.Add("a.b@c", int64(1<<53-1), false, uint(200), byte(0xff))
	f.Add("", int64(0), false, uint(3), byte(0))
	tk := fuzzTokens(f)
	f.Fuzz(func(t *testing.T, sub string, gen int64, admin bool, pos uint, x byte) {
		if !utf8.ValidString(sub) {
			return // JSON cannot carry it unchanged; subjects are validated ids
		}
		var iss Issued
		var err error
		if admin {
			iss, err = tk.IssueAdmin(sub)
		} else {
			iss, err = tk.IssueUser(sub, gen, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		c, kind, err := tk.Verify(iss.Token)
		if sub == "" {
			if err == nil {
				t.Fatal("token without a subject accepted")
			}
			return
		}
		wantKind := KindUser
		if admin {
			wantKind, gen = KindAdmin, 0
		}
		if err != nil || kind != wantKind || c.Subject != sub || c.Gen != gen {
			t.Fatalf("own token: kind %q sub %q gen %d err %v; want %q %q %d", kind, c.Subject, c.Gen, err, wantKind, sub, gen)
		}
		if x == 0 {
			return
		}
		mut := []byte(iss.Token)
		mut[pos%uint(len(mut))] ^= x
		c2, kind2, err := tk.Verify(string(mut))
		if err == nil && (kind2 != kind || c2.Subject != c.Subject || c2.Gen != c.Gen || c2.Audience[0] != c.Audience[0]) {
			t.Fatalf("changed token %q accepted as %q %q gen %d", mut, kind2, c2.Subject, c2.Gen)
		}
		if err != nil && apierror.CodeOf(err) != apierror.InvalidToken {
			t.Fatalf("changed token: code %q, want invalid_token", apierror.CodeOf(err))
		}
	})
}

// FuzzVerifyForeign: no token this service did not sign is accepted:
// alg none, other algorithms, another key, expired, wrong audience or
// issuer, or any other bytes; every refusal is invalid_token and its
// message quotes nothing of the token.
func FuzzVerifyForeign(f *testing.F) {
	tk := fuzzTokens(f)
	good := jwt.MapClaims{"sub": "alice", "iss": "https://tokenim.test", "aud": AudienceUser, "gen": 7,
		"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range good {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	other := []byte("another-key-0123456789abcdef-000000")
	for _, s := range []string{
		signed(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good),
		signed(f, jwt.SigningMethodHS512, []byte("fuzz-signing-key-0123456789abcdef"), good),
		signed(f, jwt.SigningMethodHS256, other, good),
		signed(f, jwt.SigningMethodHS256, other, with("aud", AudienceAdmin)),
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSJ9.",
		"a.b.c", "", "Bearer x", strings.Repeat("A", 300),
	} {
		f.Add(s)
	}
	key := []byte("fuzz-signing-key-0123456789abcdef")
	// Signed with the right key but wrong in one claim: these must fail
	// on the claim, so the fuzzer starts from them too.
	for _, c := range []jwt.MapClaims{
		with("exp", fuzzNow.Add(-time.Minute).Unix()), with("exp", nil), with("aud", "tokenim:other"),
		with("aud", []string{AudienceUser, AudienceAdmin}), with("iss", "https://evil.test"), with("sub", ""),
		with("iat", fuzzNow.Add(time.Hour).Unix()),
	} {
		s := signed(f, jwt.SigningMethodHS256, key, c)
		if _, _, err := tk.Verify(s); err == nil {
			f.Fatalf("claims %v accepted", c)
		}
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, kind, err := tk.Verify(tok)
		if err == nil {
			// Only a token signed with the key can get here; the fuzzer
			// cannot forge HS256, so this is a check failure.
			t.Fatalf("foreign token %q accepted as %q %+v", tok, kind, c)
		}
		if apierror.CodeOf(err) != apierror.InvalidToken {
			t.Fatalf("code %q, want invalid_token", apierror.CodeOf(err))
		}
		if len(tok) >= 8 && strings.Contains(err.Error(), tok) {
			t.Fatal("error message quotes the token")
		}
	})
}
