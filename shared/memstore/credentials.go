package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/tokenim/tokenim/shared/auth"
)

// Credentials keeps app credentials in memory (auth.CredentialStore).
type Credentials struct {
	mu    sync.Mutex
	creds map[string]auth.Credential
}

var _ auth.CredentialDirectory = (*Credentials)(nil)

// NewCredentials returns an empty credential store.
func NewCredentials() *Credentials { return &Credentials{creds: map[string]auth.Credential{}} }

// PutCredential stores c unless its key id exists (the adapter's
// conditional put fails then; the error is not a client error).
func (s *Credentials) PutCredential(_ context.Context, c auth.Credential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.creds[c.KeyID]; ok {
		return fmt.Errorf("memstore: put credential: key id %q exists", c.KeyID)
	}
	c.Scopes = slices.Clone(c.Scopes)
	s.creds[c.KeyID] = c
	return nil
}

// GetCredential returns a copy of the credential, or nil if unknown.
func (s *Credentials) GetCredential(_ context.Context, keyID string) (*auth.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[keyID]
	if !ok {
		return nil, nil
	}
	c.Scopes = slices.Clone(c.Scopes)
	return &c, nil
}

// ListCredentials returns credentials in key-id order after after.
func (s *Credentials) ListCredentials(_ context.Context, after string, limit int) ([]auth.Credential, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := keysAfter(s.creds, after, limit)
	out := make([]auth.Credential, 0, len(ids))
	for _, id := range ids {
		c := s.creds[id]
		c.Scopes = slices.Clone(c.Scopes)
		out = append(out, c)
	}
	return out, more, nil
}

// SetCredentialDisabled sets the flag; nil if the key id is unknown.
func (s *Credentials) SetCredentialDisabled(_ context.Context, keyID string, disabled bool, now int64) (*auth.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[keyID]
	if !ok {
		return nil, nil
	}
	c.Revoked, c.UpdatedAt = disabled, now
	s.creds[keyID] = c
	c.Scopes = slices.Clone(c.Scopes)
	return &c, nil
}

// DeleteCredential removes the credential; false if it did not exist.
func (s *Credentials) DeleteCredential(_ context.Context, keyID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.creds[keyID]
	delete(s.creds, keyID)
	return ok, nil
}

// Revoke marks an existing credential revoked, as an operator does to the
// DynamoDB item (docs/data-model.md; the API has no revoke), so tests on
// the memory backend can revoke one. An unknown key id is an error, as the
// operator's conditional update is.
func (s *Credentials) Revoke(keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[keyID]
	if !ok {
		return fmt.Errorf("memstore: revoke credential: no key id %q", keyID)
	}
	c.Revoked = true
	s.creds[keyID] = c
	return nil
}

// keysAfter returns up to limit keys of m above after, in order, and
// whether more follow (the listings' paging).
func keysAfter[V any](m map[string]V, after string, limit int) ([]string, bool) {
	ids := make([]string, 0, len(m))
	for id := range m {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		return ids[:limit], true
	}
	return ids, false
}
