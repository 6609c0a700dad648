package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/webhooks"
)

func TestWebhooksContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.WebhooksStore(t, func(t *testing.T) webhooks.Store {
		e := testenv.Get(t)
		return dynamo.NewWebhooks(e.DB(e.Cfg).Client(), e.Res.Tables["WebhooksTable"])
	})
}
