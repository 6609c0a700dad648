package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Audiences keep the two token kinds apart: an admin token can never be
// replayed where a user identity is required, and vice versa.
const (
	AudienceUser  = "tokenim:user"
	AudienceAdmin = "tokenim:admin"
)

// Default and maximum lifetimes.
const (
	AdminTokenTTL  = time.Hour
	DefaultUserTTL = 24 * time.Hour
	MaxUserTTL     = 30 * 24 * time.Hour
	MinTokenTTL    = time.Minute
)

// Claims are the JWT claims TokenIM issues. Gen is the user's creation stamp:
// a token stops working when its user is deleted, and stays dead if a user
// with the same id is created again (the new user has a new Gen).
type Claims struct {
	jwt.RegisteredClaims
	Gen int64 `json:"gen,omitempty"`
	// Scope is an admin token's scopes, space-separated (RFC 9068 §2.2.3);
	// absent on tokens minted before scopes existed: those carry their
	// credential's rights.
	Scope string `json:"scope,omitempty"`
}

// Tokens issues and verifies HS256 access tokens with one signing key.
type Tokens struct {
	key    []byte
	issuer string
	now    func() time.Time
}

// NewTokens builds a token service. The key must be at least 32 bytes.
func NewTokens(key []byte, issuer string, now func() time.Time) (*Tokens, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: signing key shorter than 32 bytes")
	}
	if issuer == "" {
		return nil, errors.New("auth: empty issuer")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: key, issuer: issuer, now: now}, nil
}

// Issued is a minted token.
type Issued struct {
	Token     string    `json:"access_token"`
	TokenType string    `json:"token_type"`
	ExpiresIn int64     `json:"expires_in"`
	ExpiresAt time.Time `json:"expires_at"`
	// Scope is an admin token's granted scopes (RFC 6749 §5.1), space-separated.
	Scope string `json:"scope,omitempty"`
}

func (t *Tokens) issue(sub, aud string, gen int64, scope string, ttl time.Duration) (Issued, error) {
	now := t.now().Truncate(time.Second)
	exp := now.Add(ttl)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			Issuer:    t.issuer,
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Gen:   gen,
		Scope: scope,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return Issued{}, err
	}
	return Issued{Token: s, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), ExpiresAt: exp}, nil
}

// IssueAdmin mints a short-lived admin token for credential keyID with
// the credential's own rights (no scope claim).
func (t *Tokens) IssueAdmin(keyID string) (Issued, error) {
	return t.issue(keyID, AudienceAdmin, 0, "", AdminTokenTTL)
}

// IssueAdminScoped mints an admin token limited to scopes (which the
// caller checked the credential holds).
func (t *Tokens) IssueAdminScoped(keyID string, scopes Scopes) (Issued, error) {
	i, err := t.issue(keyID, AudienceAdmin, 0, scopes.String(), AdminTokenTTL)
	i.Scope = scopes.String()
	return i, err
}

// IssueUser mints a user token. gen is the user's creation stamp.
func (t *Tokens) IssueUser(userID string, gen int64, ttl time.Duration) (Issued, error) {
	if ttl == 0 {
		ttl = DefaultUserTTL
	}
	if ttl < MinTokenTTL || ttl > MaxUserTTL {
		return Issued{}, apierror.New(apierror.ValidationFailed, "ttl_seconds must be between %d and %d.", int(MinTokenTTL/time.Second), int(MaxUserTTL/time.Second))
	}
	return t.issue(userID, AudienceUser, gen, "", ttl)
}

// Verify checks signature (HS256 only: "none" and every other alg are
// refused), expiry (required), issuer and audience, and returns the claims
// and the token kind. Every failure is the same invalid_token error so a
// caller learns nothing about which check failed.
func (t *Tokens) Verify(token string) (Claims, Kind, error) {
	var c Claims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(AudienceUser, AudienceAdmin),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(5*time.Second),
	)
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil })
	if err != nil || c.Subject == "" || len(c.Audience) != 1 {
		return Claims{}, "", apierror.New(apierror.InvalidToken, "The access token is invalid or expired.")
	}
	switch c.Audience[0] {
	case AudienceAdmin:
		return c, KindAdmin, nil
	case AudienceUser:
		return c, KindUser, nil
	}
	return Claims{}, "", apierror.New(apierror.InvalidToken, "The access token is invalid or expired.")
}
