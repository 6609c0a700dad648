package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestConnectionsContract(t *testing.T) {
	storetest.ConnectionsStore(t, func(*testing.T) storetest.Connections {
		var m memstore.Members
		return storetest.Connections{
			Store:      memstore.NewConnections(m.IDs),
			AddMembers: func(_ *testing.T, gid string, uids ...string) { m.Add(gid, uids...) },
		}
	})
}
