package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestModerationContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.ModerationStore(t, func(t *testing.T) storetest.ModerationStores {
		db := contractDB(t)
		return storetest.ModerationStores{Mod: dynamo.NewModeration(db.Client(), db.Tables()), Users: db.Users}
	})
}
