package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
)

// CredentialStore runs the auth.CredentialStore contract.
func CredentialStore(t *testing.T, newStore func(t *testing.T) auth.CredentialStore) {
	t.Helper()
	ctx := context.Background()
	cred := func() auth.Credential {
		return auth.Credential{KeyID: storeID("tk"), SecretHash: "hash", Name: "ci", CreatedAt: time.Now().Unix()}
	}
	runCases(t, newStore, []storeCase[auth.CredentialStore]{
		{"put then get", func(t *testing.T, s auth.CredentialStore) {
			for _, c := range []auth.Credential{cred(), {KeyID: storeID("tk"), SecretHash: "h2", Revoked: true}} {
				if err := s.PutCredential(ctx, c); err != nil {
					t.Fatal(err)
				}
				got, err := s.GetCredential(ctx, c.KeyID)
				if err != nil || got == nil || *got != c {
					t.Fatalf("got %+v %v, want %+v", got, err, c)
				}
			}
		}},
		{"unknown key id is nil", func(t *testing.T, s auth.CredentialStore) {
			if got, err := s.GetCredential(ctx, storeID("tk")); err != nil || got != nil {
				t.Fatalf("got %+v %v", got, err)
			}
		}},
		{"an existing key id is never overwritten", func(t *testing.T, s auth.CredentialStore) {
			c := cred()
			if err := s.PutCredential(ctx, c); err != nil {
				t.Fatal(err)
			}
			other := c
			other.SecretHash, other.Revoked = "other", true
			if err := s.PutCredential(ctx, other); err == nil {
				t.Fatal("second put with the same key id succeeded")
			}
			if got, err := s.GetCredential(ctx, c.KeyID); err != nil || got == nil || *got != c {
				t.Fatalf("after refused put: %+v %v, want %+v", got, err, c)
			}
		}},
	})
}
