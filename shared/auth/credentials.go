package auth

// Managing app credentials through the API: create with scopes (never
// more than the creator's), list, disable or enable, delete. A credential
// may act only on credentials whose rights its own cover, so a narrow key
// cannot switch off (or delete) a wider one, and never on itself, so an
// operator cannot lock themselves out with one request.

import (
	"context"
	"encoding/base64"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
)

// CredentialDirectory is CredentialStore plus what managing credentials
// needs.
type CredentialDirectory interface {
	CredentialStore
	// ListCredentials returns up to limit credentials in key-id order,
	// after the key id after ("" for the first page), and whether more follow.
	ListCredentials(ctx context.Context, after string, limit int) ([]Credential, bool, error)
	// SetCredentialDisabled sets the disabled flag and returns the
	// credential as stored, or nil if the key id is unknown.
	SetCredentialDisabled(ctx context.Context, keyID string, disabled bool, now int64) (*Credential, error)
	// DeleteCredential removes the credential; false if it did not exist.
	DeleteCredential(ctx context.Context, keyID string) (bool, error)
}

// Credentials holds the credential-management use cases.
type Credentials struct {
	store CredentialDirectory
	now   func() time.Time
}

// NewCredentials builds the use cases.
func NewCredentials(s CredentialDirectory, now func() time.Time) *Credentials {
	if now == nil {
		now = time.Now
	}
	return &Credentials{store: s, now: now}
}

// CreateCredentialInput is a new credential's name and scopes (nil: the
// creator's own).
type CreateCredentialInput struct {
	Name   string
	Scopes []string
}

// Create makes a credential for p, which needs credentials:write and must
// hold every scope it hands out. Nothing is written on a refusal.
func (s *Credentials) Create(ctx context.Context, p Principal, in CreateCredentialInput) (Credential, string, error) {
	if err := p.RequireScope(ScopeCredentialsWrite); err != nil {
		return Credential{}, "", err
	}
	if utf8.RuneCountInString(in.Name) > 128 {
		return Credential{}, "", apierror.New(apierror.ValidationFailed, "name must be at most 128 characters.")
	}
	scopes := p.Scopes.orFull()
	if in.Scopes != nil {
		var err error
		if scopes, err = ParseScopes(in.Scopes); err != nil {
			return Credential{}, "", err
		}
	}
	if !p.Scopes.Covers(scopes) {
		return Credential{}, "", apierror.New(apierror.Forbidden, "A credential may grant only scopes it holds itself (%q).", p.Scopes.String())
	}
	c, secret, err := NewCredential(in.Name, s.now().UnixMilli())
	if err != nil {
		return Credential{}, "", err
	}
	c.Scopes, c.CreatedBy = scopes, p.KeyID
	if err := s.store.PutCredential(ctx, c); err != nil {
		return Credential{}, "", err
	}
	return c, secret, nil
}

// MaxCredentialPage is the largest page List returns; DefaultCredentialPage
// is the page without ?limit.
const (
	MaxCredentialPage     = 100
	DefaultCredentialPage = 50
)

// CredentialPage is one page of credentials.
type CredentialPage struct {
	Credentials []Credential
	NextCursor  string
}

// List pages through credentials (credentials:read). The cursor is the
// last key id returned: key ids are not secret, so it need not be signed.
func (s *Credentials) List(ctx context.Context, p Principal, limit int, cursor string) (CredentialPage, error) {
	if err := p.RequireScope(ScopeCredentialsRead); err != nil {
		return CredentialPage{}, err
	}
	if limit == 0 {
		limit = DefaultCredentialPage
	}
	if limit < 1 || limit > MaxCredentialPage {
		return CredentialPage{}, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxCredentialPage)
	}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !ValidKeyID(string(b)) {
			return CredentialPage{}, apierror.New(apierror.InvalidCursor, "cursor is not one this API returned.")
		}
		after = string(b)
	}
	list, more, err := s.store.ListCredentials(ctx, after, limit)
	if err != nil {
		return CredentialPage{}, err
	}
	out := CredentialPage{Credentials: list}
	if out.Credentials == nil {
		out.Credentials = []Credential{}
	}
	if more && len(list) > 0 {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(list[len(list)-1].KeyID))
	}
	return out, nil
}

// SetDisabled disables (or re-enables) a credential (credentials:write).
// A disabled credential's tokens stop at their next request.
func (s *Credentials) SetDisabled(ctx context.Context, p Principal, keyID string, disabled bool) (Credential, error) {
	if _, err := s.target(ctx, p, keyID); err != nil {
		return Credential{}, err
	}
	c, err := s.store.SetCredentialDisabled(ctx, keyID, disabled, s.now().UnixMilli())
	if err != nil {
		return Credential{}, err
	}
	if c == nil { // deleted in between
		return Credential{}, notFoundCredential(keyID)
	}
	return *c, nil
}

// Delete removes a credential for good (credentials:write).
func (s *Credentials) Delete(ctx context.Context, p Principal, keyID string) error {
	if _, err := s.target(ctx, p, keyID); err != nil {
		return err
	}
	ok, err := s.store.DeleteCredential(ctx, keyID)
	if err != nil {
		return err
	}
	if !ok {
		return notFoundCredential(keyID)
	}
	return nil
}

// target checks that p may change the credential keyID and returns it.
func (s *Credentials) target(ctx context.Context, p Principal, keyID string) (*Credential, error) {
	if err := p.RequireScope(ScopeCredentialsWrite); err != nil {
		return nil, err
	}
	if !ValidKeyID(keyID) {
		return nil, apierror.New(apierror.InvalidID, "key_id is not a credential key id.").WithDetails(map[string]any{"field": "key_id"})
	}
	if keyID == p.KeyID {
		return nil, apierror.New(apierror.Forbidden, "A credential cannot disable or delete itself; use another credential.")
	}
	c, err := s.store.GetCredential(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notFoundCredential(keyID)
	}
	if !p.Scopes.Covers(c.Rights()) {
		return nil, apierror.New(apierror.Forbidden, "A credential may change only credentials whose scopes it holds itself.")
	}
	return c, nil
}

func notFoundCredential(keyID string) error {
	return apierror.New(apierror.NotFound, "Credential %q was not found.", keyID)
}

var keyIDPattern = regexp.MustCompile(`^tk_[0-9a-z]{1,64}$`)

// ValidKeyID reports whether s has a key id's shape (NewCredential makes
// "tk_" and 20 hex digits; seeded and test ids vary in length).
func ValidKeyID(s string) bool { return keyIDPattern.MatchString(s) }
