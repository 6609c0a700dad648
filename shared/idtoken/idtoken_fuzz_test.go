package idtoken_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/idtoken"
	"github.com/tokenim/tokenim/shared/idtoken/idtokentest"
)

// FuzzVerify: an ID token from the pool verifies to its subject and
// attributes; the same token with one byte changed is refused with
// invalid_grant unless it still decodes to the same identity; and any
// string the fuzzer makes up is refused with invalid_grant, its message
// quoting nothing of the token. The JWKS is served on 127.0.0.1 and
// fetched once.
func FuzzVerify(f *testing.F) {
	pool := idtokentest.New(f)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v, err := idtoken.New(pool.Config(now))
	if err != nil {
		f.Fatal(err)
	}
	good := pool.Sign(f, pool.Claims("sub-1", now))
	noneTok := idtokentest.SignWith(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, pool.KID, pool.Claims("sub-1", now))
	hsTok := idtokentest.SignWith(f, jwt.SigningMethodHS256, []byte("a-shared-secret-guess-0123456789"), pool.KID, pool.Claims("sub-1", now))
	wrongAud := pool.Claims("sub-1", now)
	wrongAud["aud"] = "someone-else"
	access := pool.Claims("sub-1", now)
	access["token_use"] = "access"
	f.Add(good, "", uint(0), byte(0))
	f.Add(good, "", uint(10), byte(1))
	f.Add(good, "", uint(400), byte(0x40))
	for _, s := range []string{noneTok, hsTok, pool.Sign(f, wrongAud), pool.Sign(f, access), "a.b.c", "", strings.Repeat("e", 200)} {
		f.Add("", s, uint(0), byte(0))
	}
	ctx := context.Background()
	want, err := v.Verify(ctx, good)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, base, other string, pos uint, x byte) {
		tok := other
		if base == good {
			b := []byte(good)
			b[pos%uint(len(b))] ^= x
			tok = string(b)
		}
		id, err := v.Verify(ctx, tok)
		if err == nil {
			if tok != good && (id.Subject != want.Subject || !maps.Equal(id.Attributes, want.Attributes)) {
				t.Fatalf("changed token %q accepted as %+v", tok, id)
			}
			if tok != good && base != good {
				t.Fatalf("made-up token %q accepted as %+v", tok, id)
			}
			return
		}
		if tok == good {
			t.Fatalf("pool's own token refused: %v", err)
		}
		if apierror.CodeOf(err) != apierror.InvalidGrant {
			t.Fatalf("code %q (%v), want invalid_grant", apierror.CodeOf(err), err)
		}
		if len(tok) >= 8 && strings.Contains(err.Error(), tok) {
			t.Fatal("error message quotes the token")
		}
	})
}
