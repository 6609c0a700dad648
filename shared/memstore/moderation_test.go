package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestModerationContract(t *testing.T) {
	storetest.ModerationStore(t, func(*testing.T) storetest.ModerationStores {
		u := memstore.NewUsers(nil)
		return storetest.ModerationStores{Mod: memstore.NewModeration(u), Users: u}
	})
}
