package memstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/tokenim/tokenim/shared/auth"
)

// Credentials keeps app credentials in memory (auth.CredentialStore).
type Credentials struct {
	mu    sync.Mutex
	creds map[string]auth.Credential
}

var _ auth.CredentialStore = (*Credentials)(nil)

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
	return &c, nil
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
