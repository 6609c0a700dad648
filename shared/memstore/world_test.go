package memstore

import (
	"context"
	"testing"

	"github.com/tokenim/tokenim/shared/users"
)

// TestWorldIsWired: the stores of a World see each other's data as the
// DynamoDB tables do.
func TestWorldIsWired(t *testing.T) {
	ctx := context.Background()
	w := NewWorld()
	if _, err := w.Users.PutUserIfAbsent(ctx, users.User{UserID: "ann", Gen: 1}); err != nil {
		t.Fatal(err)
	}
	missing, err := w.Chat.MissingUsers(ctx, []string{"ann", "bob"})
	if err != nil || len(missing) != 1 || missing[0] != "bob" {
		t.Fatalf("MissingUsers = %v, %v; want [bob]: chat must read the users store", missing, err)
	}
	if _, err := w.Users.DeleteUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if missing, _ := w.Chat.MissingUsers(ctx, []string{"ann"}); len(missing) != 1 {
		t.Fatal("a deleted user still exists for chat")
	}
}
