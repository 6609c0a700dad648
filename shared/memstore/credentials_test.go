package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestCredentialsContract(t *testing.T) {
	storetest.CredentialStore(t, func(*testing.T) auth.CredentialStore { return memstore.NewCredentials() })
}
