package idtoken_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/idtoken"
	"github.com/tokenim/tokenim/shared/idtoken/idtokentest"
)

// now is the verifier's clock; tokens are made relative to it, so no
// test depends on the wall clock.
var now = time.Unix(1_800_000_000, 0)

func newVerifier(t *testing.T, p *idtokentest.Pool) *idtoken.Verifier {
	t.Helper()
	v, err := idtoken.New(p.Config(now))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyAccepts(t *testing.T) {
	p := idtokentest.New(t)
	v := newVerifier(t, p)
	if p.Fetches() != 0 {
		t.Fatalf("New fetched the JWKS (%d): it must wait for the first use", p.Fetches())
	}
	c := p.Claims("sub-1", now)
	c["name"] = "Ada"
	c["custom:team"] = "blue"
	c["cognito:groups"] = []string{"admins"} // not a string: left out
	tests := []struct {
		name   string
		mutate func(jwt.MapClaims)
	}{
		{"plain", func(jwt.MapClaims) {}},
		{"expired within leeway", func(c jwt.MapClaims) { c["exp"] = now.Add(-20 * time.Second).Unix() }},
		{"issued slightly in the future", func(c jwt.MapClaims) { c["iat"] = now.Add(20 * time.Second).Unix() }},
		{"nbf slightly in the future", func(c jwt.MapClaims) { c["nbf"] = now.Add(20 * time.Second).Unix() }},
		{"aud as a one-element list", func(c jwt.MapClaims) { c["aud"] = []string{p.ClientID} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims := jwt.MapClaims{}
			for k, val := range c {
				claims[k] = val
			}
			tc.mutate(claims)
			id, err := v.Verify(context.Background(), p.Sign(t, claims))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"sub": "sub-1", "name": "Ada", "custom:team": "blue", "email": "sub-1@example.com",
				"email_verified": "true", "cognito:username": "sub-1"}
			if id.Subject != "sub-1" || id.Issuer != p.Issuer || id.UserPoolID() != p.PoolID || !reflect.DeepEqual(id.Attributes, want) {
				t.Fatalf("identity %+v (pool %q), want attributes %v", id, id.UserPoolID(), want)
			}
		})
	}
	if p.Fetches() != 1 {
		t.Fatalf("JWKS fetched %d times, want once for the process", p.Fetches())
	}
}

func TestVerifyRefuses(t *testing.T) {
	p := idtokentest.New(t)
	v := newVerifier(t, p)
	der, err := x509.MarshalPKIXPublicKey(&p.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	otherKey := idtokentest.NewKey(t)
	valid := func(mutate func(jwt.MapClaims)) jwt.MapClaims {
		c := p.Claims("sub-1", now)
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	sign := func(mutate func(jwt.MapClaims)) string { return p.Sign(t, valid(mutate)) }
	tests := []struct {
		name  string
		token string
		why   string // part of the message
	}{
		{"alg none", idtokentest.SignWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, p.KID, valid(nil)), "signature"},
		{"HS256 keyed with the public key PEM", idtokentest.SignWith(t, jwt.SigningMethodHS256, pubPEM, p.KID, valid(nil)), "signature"},
		{"HS256 keyed with the public key DER", idtokentest.SignWith(t, jwt.SigningMethodHS256, der, p.KID, valid(nil)), "signature"},
		{"RS512 with the right key", idtokentest.SignWith(t, jwt.SigningMethodRS512, p.Key, p.KID, valid(nil)), "signature"},
		{"PS256 with the right key", idtokentest.SignWith(t, jwt.SigningMethodPS256, p.Key, p.KID, valid(nil)), "signature"},
		{"wrong RSA key, same kid", idtokentest.SignWith(t, jwt.SigningMethodRS256, otherKey, p.KID, valid(nil)), "signature"},
		{"unknown kid", idtokentest.SignWith(t, jwt.SigningMethodRS256, otherKey, "kid-unknown", valid(nil)), "kid"},
		{"no kid", idtokentest.SignWith(t, jwt.SigningMethodRS256, p.Key, "", valid(nil)), "kid"},
		{"expired", sign(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), "expired"},
		{"no exp", sign(func(c jwt.MapClaims) { delete(c, "exp") }), "required claim"},
		{"nbf in the future", sign(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), "nbf"},
		{"iat in the future", sign(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Minute).Unix() }), "iat"},
		{"no iat", sign(func(c jwt.MapClaims) { delete(c, "iat") }), "iat"},
		{"wrong iss", sign(func(c jwt.MapClaims) { c["iss"] = p.Issuer + "x" }), "issuer"},
		{"iss with trailing slash", sign(func(c jwt.MapClaims) { c["iss"] = p.Issuer + "/" }), "issuer"},
		{"no iss", sign(func(c jwt.MapClaims) { delete(c, "iss") }), "required claim"},
		{"wrong aud", sign(func(c jwt.MapClaims) { c["aud"] = "client-evil" }), "audience"},
		{"aud ours and another", sign(func(c jwt.MapClaims) { c["aud"] = []string{p.ClientID, "client-evil"} }), "audience"},
		{"no aud", sign(func(c jwt.MapClaims) { delete(c, "aud") }), "audience"},
		{"access token", sign(func(c jwt.MapClaims) { c["token_use"] = "access" }), "token_use"},
		{"no token_use", sign(func(c jwt.MapClaims) { delete(c, "token_use") }), "token_use"},
		{"no sub", sign(func(c jwt.MapClaims) { delete(c, "sub") }), "sub"},
		{"sub not a string", sign(func(c jwt.MapClaims) { c["sub"] = 42 }), "sub"},
		{"malformed", "not-a-jwt", "well-formed"},
		{"three garbage parts", "a.b.c", "well-formed"},
		{"tampered payload", func() string {
			parts := strings.Split(sign(nil), ".")
			other := strings.Split(sign(func(c jwt.MapClaims) { c["sub"] = "victim" }), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}(), "signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if apierror.CodeOf(err) != apierror.InvalidGrant {
				t.Fatalf("got %v, want invalid_grant", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.why) {
				t.Fatalf("message %q does not name the check (%q)", msg, tc.why)
			}
			for _, part := range strings.Split(tc.token, ".") {
				if len(part) > 8 && strings.Contains(msg, part) {
					t.Fatalf("message %q echoes the token", msg)
				}
			}
			if strings.Contains(msg, tc.token) {
				t.Fatalf("message %q echoes the token", msg)
			}
		})
	}
}

// TestKeyRotation: a token signed with a newly published key refetches
// the JWKS once; further unknown kids within the minute fetch nothing.
func TestKeyRotation(t *testing.T) {
	p := idtokentest.New(t)
	v := newVerifier(t, p)
	ctx := context.Background()
	if _, err := v.Verify(ctx, p.Sign(t, p.Claims("s", now))); err != nil {
		t.Fatal(err)
	}
	kid, key := p.AddKey(t)
	if _, err := v.Verify(ctx, idtokentest.SignWith(t, jwt.SigningMethodRS256, key, kid, p.Claims("s", now))); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	if p.Fetches() != 2 {
		t.Fatalf("fetches %d, want 2 (first use, then the new kid)", p.Fetches())
	}
	for i := range 3 {
		bogus := idtokentest.SignWith(t, jwt.SigningMethodRS256, key, "kid-bogus", p.Claims("s", now))
		if _, err := v.Verify(ctx, bogus); apierror.CodeOf(err) != apierror.InvalidGrant {
			t.Fatalf("unknown kid %d: %v", i, err)
		}
	}
	if p.Fetches() != 2 {
		t.Fatalf("fetches %d after unknown kids, want still 2 (at most one refetch a minute)", p.Fetches())
	}
	// The old key still verifies from the cache.
	if _, err := v.Verify(ctx, p.Sign(t, p.Claims("s", now))); err != nil {
		t.Fatal(err)
	}
}

// TestFirstFetch: concurrent first uses fetch once; a failed first fetch
// is service_unavailable and is retried by the next request.
func TestFirstFetch(t *testing.T) {
	t.Run("concurrent", func(t *testing.T) {
		p := idtokentest.New(t)
		v := newVerifier(t, p)
		tok := p.Sign(t, p.Claims("s", now))
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range errs {
			wg.Go(func() { _, errs[i] = v.Verify(context.Background(), tok) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if p.Fetches() != 1 {
			t.Fatalf("fetches %d, want 1", p.Fetches())
		}
	})
	t.Run("issuer down, then up", func(t *testing.T) {
		p := idtokentest.New(t)
		v := newVerifier(t, p)
		tok := p.Sign(t, p.Claims("s", now))
		p.SetFailing(true)
		if _, err := v.Verify(context.Background(), tok); apierror.CodeOf(err) != apierror.ServiceUnavailable {
			t.Fatalf("got %v, want service_unavailable", err)
		}
		p.SetFailing(false)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("after the issuer recovered: %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	v, err := idtoken.New(idtoken.Config{})
	if err != nil || v.Enabled() {
		t.Fatalf("empty issuer: %v enabled=%v", err, v.Enabled())
	}
	if _, err := v.Verify(context.Background(), "x"); err == nil {
		t.Fatal("a disabled verifier accepted a token")
	}
	var nilV *idtoken.Verifier
	if nilV.Enabled() {
		t.Fatal("nil verifier enabled")
	}
	bad := []idtoken.Config{
		{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool"},                            // no client ids
		{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool/", ClientIDs: []string{"c"}}, // trailing slash
		{Issuer: "cognito-idp/pool", ClientIDs: []string{"c"}},                                  // not absolute
	}
	for _, c := range bad {
		if _, err := idtoken.New(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
