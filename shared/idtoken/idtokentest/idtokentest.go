// Package idtokentest is a fake Cognito user pool for tests: an RSA key,
// its JWKS served on 127.0.0.1, and signed ID tokens.
package idtokentest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/idtoken"
)

// Pool is a fake user pool. Its issuer URL is never fetched; the JWKS is
// served from JWKSURL.
type Pool struct {
	Issuer   string
	PoolID   string
	ClientID string
	JWKSURL  string
	Key      *rsa.PrivateKey
	KID      string

	fetches atomic.Int64
	failing atomic.Bool
	mu      sync.Mutex
	jwks    jwkset.Storage
}

// New starts a pool with one published key; the server stops when the
// test ends.
func New(t testing.TB) *Pool {
	t.Helper()
	p := &Pool{PoolID: "us-east-1_Test" + randSuffix(t), ClientID: "client-test", jwks: jwkset.NewMemoryStorage()}
	p.Issuer = "https://cognito-idp.us-east-1.amazonaws.com/" + p.PoolID
	p.KID, p.Key = p.AddKey(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		if p.failing.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		raw, err := p.jwks.JSONPublic(r.Context())
		p.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
	}))
	t.Cleanup(srv.Close)
	p.JWKSURL = srv.URL + "/.well-known/jwks.json"
	return p
}

func randSuffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// AddKey makes a new RSA key and publishes it (key rotation).
func (p *Pool) AddKey(t testing.TB) (string, *rsa.PrivateKey) {
	t.Helper()
	key := NewKey(t)
	kid := "kid-" + randSuffix(t)
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.jwks.KeyWrite(context.Background(), jwk); err != nil {
		t.Fatal(err)
	}
	return kid, key
}

// NewKey makes a 2048-bit RSA key (the size Cognito uses).
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Fetches counts JWKS requests served.
func (p *Pool) Fetches() int { return int(p.fetches.Load()) }

// SetFailing makes the JWKS endpoint answer 503 (true) or serve (false).
func (p *Pool) SetFailing(f bool) { p.failing.Store(f) }

// Config is a verifier configuration for this pool at the given time.
func (p *Pool) Config(now time.Time) idtoken.Config {
	return idtoken.Config{Issuer: p.Issuer, ClientIDs: []string{"other-client", p.ClientID}, JWKSURL: p.JWKSURL,
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
}

// Claims are a valid ID token's claims for sub, issued at now.
func (p *Pool) Claims(sub string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": sub, "iss": p.Issuer, "aud": p.ClientID, "token_use": "id",
		"iat": now.Unix(), "auth_time": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": sub + "@example.com", "email_verified": true, "cognito:username": sub,
	}
}

// Sign signs claims with the pool's key (RS256, its kid).
func (p *Pool) Sign(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	return SignWith(t, jwt.SigningMethodRS256, p.Key, p.KID, c)
}

// SignWith signs claims with any method and key; kid "" leaves it out.
func SignWith(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
