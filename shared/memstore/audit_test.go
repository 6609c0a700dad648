package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestAuditContract(t *testing.T) {
	storetest.AuditStore(t, func(*testing.T) audit.Store { return memstore.NewAudit() })
}
