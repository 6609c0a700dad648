package memstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/users"
)

func TestJobsContract(t *testing.T) {
	storetest.JobsStore(t, func(*testing.T) batch.Store { return memstore.NewJobs(memstore.NewUsers(nil)) })
}

// Conditional writes stay exclusive under concurrent callers: one chunk
// commit and one user create win, however many race.
func TestJobsConcurrentConditions(t *testing.T) {
	ctx := context.Background()
	u := memstore.NewUsers(nil)
	s := memstore.NewJobs(u)
	now := time.Now()
	if err := s.PutJob(ctx, batch.Job{JobID: "j", Total: 100, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const racers = 16
	var commits, creates atomic.Int32
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			if ok, err := s.CommitChunk(ctx, batch.Commit{JobID: "j", Chunk: 0, Created: 1, At: now}); err == nil && ok {
				commits.Add(1)
			}
			if old, err := u.PutUserIfAbsent(ctx, users.User{UserID: "u", Gen: int64(i + 1)}); err == nil && old == nil {
				creates.Add(1)
			}
		})
	}
	wg.Wait()
	j, err := s.GetJob(ctx, "j")
	if commits.Load() != 1 || creates.Load() != 1 || err != nil || j.Created != 1 || j.ChunksDone != 1 {
		t.Fatalf("commits %d, creates %d, job %+v %v", commits.Load(), creates.Load(), j, err)
	}
}
