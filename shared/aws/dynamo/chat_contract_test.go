package dynamo_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// chatDB is the DynamoDB chat store plus the users the contract needs.
type chatDB struct {
	dynamo.Chat
	users *dynamo.Users
}

func (db chatDB) AddUsers(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := db.users.PutUserIfAbsent(ctx, users.User{UserID: id}); err != nil {
			return err
		}
	}
	return nil
}

// TestChatContract runs the chat.Store contract against DynamoDB (the
// emulator); every test uses fresh ids, so one set of tables serves all.
func TestChatContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	env := testenv.Get(t)
	stores := env.DB(env.Cfg)
	db := chatDB{Chat: stores.Chat, users: stores.Users}
	var opts []storetest.ChatOption
	if isMoto(t) {
		opts = append(opts, storetest.OnMoto())
	}
	storetest.ChatStore(t, func(*testing.T) chat.Store { return db }, opts...)
}

// isMoto reports whether the emulator is moto (it serves /moto-api/).
func isMoto(t *testing.T) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, os.Getenv("AWS_ENDPOINT_URL")+"/moto-api/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
