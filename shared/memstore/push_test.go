package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestPushContract(t *testing.T) {
	storetest.PushStore(t, func(*testing.T) storetest.Push { return memstore.NewPush() })
}

func TestBroadcastsContract(t *testing.T) {
	storetest.BroadcastStore(t, func(*testing.T) push.BroadcastStore { return memstore.NewBroadcasts() })
}
