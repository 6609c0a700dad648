package memstore_test

import (
	"context"
	"reflect"

	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestCredentialsContract(t *testing.T) {
	storetest.CredentialStore(t, func(*testing.T) auth.CredentialDirectory { return memstore.NewCredentials() })
}

func TestCredentialsRevoke(t *testing.T) {
	s := memstore.NewCredentials()
	ctx := context.Background()
	c := auth.Credential{KeyID: "tk_revoke", SecretHash: "h", Name: "ci"}
	if err := s.PutCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(c.KeyID); err != nil {
		t.Fatal(err)
	}
	want := c
	want.Revoked = true
	if got, err := s.GetCredential(ctx, c.KeyID); err != nil || got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("after revoke: %+v %v, want %+v", got, err, want)
	}
	if err := s.Revoke("tk_unknown"); err == nil {
		t.Fatal("revoking an unknown key id succeeded")
	}
	if got, _ := s.GetCredential(ctx, "tk_unknown"); got != nil {
		t.Fatalf("revoking an unknown key id created %+v", got)
	}
}
