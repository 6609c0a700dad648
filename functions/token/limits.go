package main

// Stricter limits on the token routes (docs/permissions.md, "Rate
// limits"): a token request costs a hash and a read, and a leaked or
// guessed secret is tried there, so each source IP and each credential
// gets a small budget per sandbox; minting user tokens is limited per
// credential.

import (
	"time"

	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/ratelimit"
)

// The limits (per sandbox; see shared/ratelimit for the precision).
var (
	TokenPerIP         = []ratelimit.Limit{{N: 50, Per: time.Second}, {N: 600, Per: time.Minute}}
	TokenPerCredential = []ratelimit.Limit{{N: 10, Per: time.Second}, {N: 120, Per: time.Minute}}
	MintPerCredential  = []ratelimit.Limit{{N: 100, Per: time.Second}, {N: 3000, Per: time.Minute}}
)

type tokenLimits struct {
	byIP, byCredential, mint *ratelimit.Limiter
}

func newTokenLimits(now func() time.Time) tokenLimits {
	return tokenLimits{ratelimit.New(now, TokenPerIP...), ratelimit.New(now, TokenPerCredential...), ratelimit.New(now, MintPerCredential...)}
}

func allow(l *ratelimit.Limiter, key, what string) error {
	if ok, wait := l.Allow(key); !ok {
		return ratelimit.Error(what, wait)
	}
	return nil
}

// ip limits token requests per source IP (before anything is parsed).
func (t tokenLimits) ip(r *httpapi.Request) error {
	return allow(t.byIP, r.Event.RequestContext.Identity.SourceIP, "token requests from this address")
}

// credential limits client-credentials grants per key id (known or not:
// a guessed key id is limited too).
func (t tokenLimits) credential(keyID string) error {
	return allow(t.byCredential, keyID, "token requests for this credential")
}

// minting limits user tokens minted per admin credential.
func (t tokenLimits) minting(keyID string) error {
	return allow(t.mint, keyID, "user tokens minted by this credential")
}
