package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestCredentialsContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.CredentialStore(t, func(t *testing.T) auth.CredentialDirectory { return contractDB(t).Credentials })
}
