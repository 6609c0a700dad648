package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/webhooks"
)

func TestWebhooksContract(t *testing.T) {
	storetest.WebhooksStore(t, func(*testing.T) webhooks.Store { return memstore.NewWebhooks() })
}
