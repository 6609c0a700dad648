package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestChatContract(t *testing.T) {
	storetest.ChatStore(t, func(*testing.T) chat.Store { return memstore.NewChat() })
}
