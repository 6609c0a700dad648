package auth

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
)

// CredentialStore holds app credentials.
type CredentialStore interface {
	GetCredential(ctx context.Context, keyID string) (*Credential, error)
	PutCredential(ctx context.Context, c Credential) error
}

// UserGens reports a user's generation (0 if the user does not exist).
type UserGens interface {
	UserGen(ctx context.Context, userID string) (int64, error)
}

// Service holds the authentication use cases.
type Service struct {
	tokens   *Tokens
	creds    CredentialStore
	users    UserGens
	statuses UserStatuses // optional (WithStatus): bans and roles
	roles    RoleGrants
	now      func() time.Time
}

// NewService builds the service.
func NewService(t *Tokens, c CredentialStore, u UserGens) *Service {
	return &Service{tokens: t, creds: c, users: u, now: time.Now}
}

// ClientCredentials implements the OAuth2 client-credentials grant
// (RFC 6749 §4.4): a valid key id and secret get an admin access token.
// Unknown key ids and wrong secrets fail identically (invalid_client) and
// take the same path: the secret is always hashed and compared in
// constant time. scope ("" for all the credential holds) narrows the
// token; asking for more than the credential holds is invalid_scope.
func (s *Service) ClientCredentials(ctx context.Context, keyID, secret, scope string) (Issued, error) {
	bad := apierror.New(apierror.InvalidClient, "Client authentication failed.")
	if keyID == "" || secret == "" || len(keyID) > 128 || len(secret) > 256 {
		CheckSecret(nil, secret)
		return Issued{}, bad
	}
	c, err := s.creds.GetCredential(ctx, keyID)
	if err != nil {
		return Issued{}, err
	}
	if !CheckSecret(c, secret) {
		return Issued{}, bad
	}
	granted := c.Rights()
	if scope != "" {
		want, err := ParseScopeString(scope)
		if err != nil {
			return Issued{}, err
		}
		if !granted.Covers(want) {
			return Issued{}, apierror.New(apierror.InvalidScope, "The credential does not hold every requested scope; it holds %q.", granted.String())
		}
		granted = want
	}
	return s.tokens.IssueAdminScoped(keyID, granted)
}

// Authenticate turns an Authorization header value ("Bearer <jwt>") or a
// bare token into a principal. User tokens are valid only while the user
// exists with the generation the token was minted for; admin tokens only
// while their credential is not revoked.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if t, ok := cutBearer(token); ok {
		token = t
	}
	if token == "" {
		return Principal{}, apierror.New(apierror.Unauthorized, "Missing access token.")
	}
	claims, kind, err := s.tokens.Verify(token)
	if err != nil {
		return Principal{}, err
	}
	invalid := apierror.New(apierror.InvalidToken, "The access token is invalid or expired.")
	switch kind {
	case KindUser:
		return s.authenticateUser(ctx, claims)
	case KindAdmin:
		c, err := s.creds.GetCredential(ctx, claims.Subject)
		if err != nil {
			return Principal{}, err
		}
		if c == nil || c.Revoked {
			return Principal{}, invalid
		}
		// The token's scopes, never more than the credential holds now:
		// narrowing a credential narrows its live tokens at once.
		scopes := c.Rights()
		if claims.Scope != "" {
			scopes = knownScopes(claims.Scope).Intersect(scopes)
		}
		return Principal{Kind: KindAdmin, KeyID: claims.Subject, Scopes: scopes}, nil
	}
	return Principal{}, invalid
}

func cutBearer(h string) (string, bool) {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return h, false
}

// IssueUserToken mints a token for an existing user (admins only).
func (s *Service) IssueUserToken(ctx context.Context, p Principal, userID string, ttl time.Duration) (Issued, error) {
	if err := p.RequireScope(ScopeTokensWrite); err != nil {
		return Issued{}, err
	}
	gen, err := s.users.UserGen(ctx, userID)
	if err != nil {
		return Issued{}, err
	}
	if gen == 0 {
		return Issued{}, apierror.New(apierror.NotFound, "User %q was not found.", userID)
	}
	return s.tokens.IssueUser(userID, gen, ttl)
}

// IssueForUser mints a default-lifetime token for a user the caller has
// itself established (e.g. a verified identity-provider token, then the
// user created or found): gen is that user's generation as just read, so
// no admin principal and no extra read are needed.
func (s *Service) IssueForUser(userID string, gen int64) (Issued, error) {
	if userID == "" || gen == 0 {
		return Issued{}, errors.New("auth: issue for user: user id and generation are required")
	}
	return s.tokens.IssueUser(userID, gen, DefaultUserTTL)
}

// CreateCredential makes a new full-rights app credential: the bootstrap
// path (tokenim-admin, the local seed), which has no principal. The API
// creates credentials through Credentials.Create, which limits scopes to
// the creator's. The plain secret is returned once and never stored.
func (s *Service) CreateCredential(ctx context.Context, name string) (Credential, string, error) {
	if utf8.RuneCountInString(name) > 128 { // characters, as the spec's maxLength counts
		return Credential{}, "", apierror.New(apierror.ValidationFailed, "name must be at most 128 characters.")
	}
	c, secret, err := NewCredential(name, s.now().UnixMilli())
	if err != nil {
		return Credential{}, "", err
	}
	if err := s.creds.PutCredential(ctx, c); err != nil {
		return Credential{}, "", err
	}
	return c, secret, nil
}
