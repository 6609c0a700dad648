package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/users"
)

func TestUsersContract(t *testing.T) {
	storetest.UsersStore(t, func(*testing.T) users.Store { return memstore.NewUsers(nil) })
}

func TestUserGensContract(t *testing.T) {
	storetest.UserGens(t, func(*testing.T) (auth.UserGens, users.Store) {
		u := memstore.NewUsers(nil)
		return u, u
	})
}

// The fake's clock decides idempotency-key expiry, to the second.
func TestClaimExpiresByClock(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := memstore.NewUsers(func() time.Time { return now })
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		fp      string
		want    string
	}{
		{0, "a", ""},
		{59 * time.Second, "b", "a"},
		{time.Second, "c", "a"}, // expires this second: still held
		{time.Second, "d", ""},  // past: claimable again
		{0, "e", "d"},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		got, err := s.ClaimIdempotencyKey(ctx, "scope", "key", st.fp, time.Minute)
		if err != nil || got != st.want {
			t.Fatalf("step %d: %q %v, want %q", i, got, err, st.want)
		}
	}
}
