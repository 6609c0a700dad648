package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// contractDB is the DynamoDB store the contract suites run against; the
// tables are provisioned once per test binary and shared (the suites use
// fresh ids).
func contractDB(t *testing.T) dynamo.Stores {
	t.Helper()
	testenv.NeedAWS(t)
	e := testenv.Get(t)
	return e.DB(e.Cfg)
}

func TestUsersContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.UsersStore(t, func(t *testing.T) users.Store { return contractDB(t).Users })
}

func TestUserGensContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.UserGens(t, func(t *testing.T) (auth.UserGens, users.Store) {
		db := contractDB(t)
		return db.Users, db.Users
	})
}
