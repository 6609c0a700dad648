package testenv

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tokenim/tokenim/shared/users"
)

// NewUsers creates n users through svc, 16 at a time, with unique ids
// starting with prefix, and returns the ids in order.
func NewUsers(t testing.TB, svc *users.Service, prefix string, n int) []string {
	t.Helper()
	base := ID(prefix)
	ids := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", base, i)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, _, errs[i] = svc.Create(context.Background(), *Admin(), users.CreateInput{UserID: ids[i]}, "")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}
