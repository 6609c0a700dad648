// Package idtoken verifies OpenID Connect ID tokens from one issuer (an
// Amazon Cognito user pool), so that an app without a backend can trade
// its user's ID token for a TokenIM token (RFC 8693 token exchange).
//
// Checks: RS256 only, a kid naming a key of the issuer's JWKS, iss equal
// to the configured issuer, aud one of the configured app clients,
// token_use "id", exp/iat (required) and nbf with 30 s leeway, sub set.
// The JWKS is fetched on first use and kept for the life of the process;
// a kid it does not hold (key rotation) refetches it at most once a minute.
package idtoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Tunables. HTTPTimeout bounds every JWKS fetch so a slow issuer cannot
// hold a request for long; RefetchEvery limits refetches on unknown kids,
// which anyone can send.
const (
	Leeway       = 30 * time.Second
	HTTPTimeout  = 2 * time.Second
	RefetchEvery = time.Minute
)

// Config says which ID tokens are accepted. An empty Issuer turns
// verification off (Verifier.Enabled reports false).
type Config struct {
	Issuer    string   // exact "iss", e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>
	ClientIDs []string // accepted "aud" values (app client ids)
	JWKSURL   string   // default Issuer + "/.well-known/jwks.json"
	// HTTPClient fetches the JWKS; default: a client with HTTPTimeout.
	HTTPClient *http.Client
	Now        func() time.Time // default time.Now
	Log        *slog.Logger     // JWKS fetch failures; default slog.Default()
}

// Identity is a verified ID token.
type Identity struct {
	Issuer  string
	Subject string
	// Attributes are the token's user claims as strings (booleans become
	// "true"/"false", as Cognito passes them to triggers); protocol
	// claims (iss, aud, exp, token_use, ...) and other types are left out.
	Attributes map[string]string
}

// UserPoolID is the last path segment of the issuer (for Cognito, the
// user pool id).
func (id Identity) UserPoolID() string {
	return id.Issuer[strings.LastIndex(id.Issuer, "/")+1:]
}

// protocolClaims describe the token, not the user.
var protocolClaims = map[string]bool{
	"iss": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true, "azp": true,
	"token_use": true, "auth_time": true, "nonce": true, "at_hash": true, "origin_jti": true, "event_id": true,
}

// Verifier checks ID tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	parser  *jwt.Parser
	mu      sync.Mutex
	keys    keyfunc.Keyfunc // nil until the first successful fetch
	limiter *rate.Limiter
}

// New builds a verifier; the JWKS is not fetched until the first Verify.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return &Verifier{cfg: cfg}, nil
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || !u.IsAbs() || u.Host == "" || strings.HasSuffix(cfg.Issuer, "/") {
		return nil, fmt.Errorf("idtoken: issuer %q is not an absolute URL without a trailing slash", cfg.Issuer)
	}
	if len(cfg.ClientIDs) == 0 {
		return nil, errors.New("idtoken: an issuer is set but no client ids are")
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = cfg.Issuer + "/.well-known/jwks.json"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: HTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Verifier{
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(cfg.Now),
		),
		limiter: rate.NewLimiter(rate.Every(RefetchEvery), 1),
	}, nil
}

// Enabled reports whether an issuer is configured.
func (v *Verifier) Enabled() bool { return v != nil && v.cfg.Issuer != "" }

// Verify checks token and returns its identity. A token that fails any
// check is invalid_grant; the message names the check, never the token.
// If the issuer's keys cannot be fetched it is service_unavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	if !v.Enabled() {
		return Identity{}, errors.New("idtoken: verify: no issuer configured")
	}
	keys, err := v.keySet(ctx)
	if err != nil {
		return Identity{}, err
	}
	claims := jwt.MapClaims{}
	_, err = v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		// Cognito always names its key; a token without kid would make
		// keyfunc try every key, which we have no reason to allow.
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, errNoKID
		}
		return keys.KeyfuncCtx(ctx)(t)
	})
	if err != nil {
		return Identity{}, invalid(reason(err))
	}
	// One audience, and it must be ours: an ID token is for one client.
	aud, _ := claims.GetAudience()
	if len(aud) != 1 || !slices.Contains(v.cfg.ClientIDs, aud[0]) {
		return Identity{}, invalid("its audience is not an app client of this deployment")
	}
	if use, _ := claims["token_use"].(string); use != "id" {
		return Identity{}, invalid("it is not an ID token (token_use)")
	}
	if _, err := claims.GetIssuedAt(); err != nil || claims["iat"] == nil {
		return Identity{}, invalid("it has no issue time (iat)")
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return Identity{}, invalid("it has no subject (sub)")
	}
	id := Identity{Issuer: v.cfg.Issuer, Subject: sub, Attributes: map[string]string{}}
	for k, val := range claims {
		if protocolClaims[k] {
			continue
		}
		switch val := val.(type) {
		case string:
			id.Attributes[k] = val
		case bool:
			id.Attributes[k] = strconv.FormatBool(val)
		}
	}
	return id, nil
}

var errNoKID = errors.New("no kid")

func invalid(why string) error {
	return apierror.New(apierror.InvalidGrant, "The subject_token was refused: %s.", why)
}

// reason names the failed check for the client (the jwt errors themselves
// may quote header values, so they are not passed on).
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "it is not a well-formed JWT"
	case errors.Is(err, errNoKID):
		return "it names no signing key (kid)"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "its key (kid) or algorithm is not one the issuer publishes"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "its signature is invalid or not RS256"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "it has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "it is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "it is issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "it lacks a required claim (exp, iss)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "its issuer is not the configured one"
	}
	return "it is not a valid ID token"
}

// keySet returns the JWKS client, fetching the set on first use. A failed
// first fetch is not kept: the next request tries again.
func (v *Verifier) keySet(ctx context.Context) (keyfunc.Keyfunc, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		return v.keys, nil
	}
	logFailure := func(ctx context.Context, err error) {
		v.cfg.Log.WarnContext(ctx, "jwks fetch failed", "url", v.cfg.JWKSURL, "err", err.Error())
	}
	// RefreshInterval 0: no background refresh, the set lives as long as
	// the process; unknown kids refetch through the limiter. Waiting for
	// the limiter is capped at HTTPTimeout, so a flood of unknown kids
	// fails fast instead of queueing for a minute.
	remote, err := jwkset.NewStorageFromHTTP(v.cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:              v.cfg.HTTPClient,
		Ctx:                 ctx,
		HTTPTimeout:         HTTPTimeout,
		RefreshErrorHandler: logFailure,
	})
	if err != nil {
		logFailure(ctx, err)
		return nil, apierror.New(apierror.ServiceUnavailable, "The identity provider's signing keys could not be fetched; try again.")
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{v.cfg.JWKSURL: remote},
		RateLimitWaitMax:  HTTPTimeout,
		RefreshUnknownKID: v.limiter,
	})
	if err != nil {
		return nil, fmt.Errorf("idtoken: jwks client: %w", err)
	}
	keys, err := keyfunc.New(keyfunc.Options{Storage: storage})
	if err != nil {
		return nil, fmt.Errorf("idtoken: keyfunc: %w", err)
	}
	v.keys = keys
	return keys, nil
}
