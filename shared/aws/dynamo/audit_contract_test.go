package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestAuditContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.AuditStore(t, func(t *testing.T) audit.Store {
		e := testenv.Get(t)
		return dynamo.NewAudit(e.DB(e.Cfg).Client(), e.Res.Tables["AuditTable"])
	})
}
