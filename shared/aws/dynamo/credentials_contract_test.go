package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestCredentialsContract(t *testing.T) {
	storetest.CredentialStore(t, func(t *testing.T) auth.CredentialStore { return contractDB(t).Credentials })
}
