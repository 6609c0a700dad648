package batch_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/testenv"
)

// This package's tables are its own, so the QUOTA items start empty.
func TestMain(m *testing.M) { testenv.Main(m) }

type capture struct {
	mu     sync.Mutex
	bodies []string
}

func (c *capture) SendBatch(_ context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		c.bodies = append(c.bodies, m.Body)
	}
	return nil, nil
}

func (c *capture) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bodies
	c.bodies = nil
	return b
}

func usersCSV(prefix string, n int) []byte {
	var b strings.Builder
	b.WriteString("user_id\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%d\n", prefix, i)
	}
	return []byte(b.String())
}

// TestQuotas: concurrent jobs and rows per day are enforced with
// conditional counters; a refused submit writes nothing and keeps no
// quota; a finished job frees its slot; a dead slot is reclaimed.
func TestQuotas(t *testing.T) {
	env := testenv.Get(t)
	db := env.Stores()
	log := logging.NewTo(io.Discard, "batch")
	proc := batch.NewProcessor(db.Jobs, log, batch.ProcessorOptions{})
	q := &capture{}
	svc := batch.NewService(db.Jobs, q, proc, env.Cursors, batch.Config{MaxActiveJobs: 2, MaxRowsPerDay: 1000, InlineMaxRows: -1}, log)
	ctx := context.Background()
	admin := *testenv.Admin()
	p := testenv.ID("q")
	submit := func(name string, n int) (batch.Submitted, error) {
		return svc.SubmitUsers(ctx, admin, batch.SubmitInput{ContentType: "text/csv", Body: usersCSV(p+name, n)})
	}
	a, err := submit("a", 300)
	if err != nil {
		t.Fatal(err)
	}
	aBodies := q.take()
	if _, err := submit("b", 300); err != nil {
		t.Fatal(err)
	}
	if _, err := submit("c", 300); !apierror.Is(err, apierror.QuotaExceeded) {
		t.Fatalf("third concurrent job: %v, want quota_exceeded", err)
	}
	if _, _, err := db.Jobs.ChunkStatus(ctx, "x", 0); err != nil {
		t.Fatal(err)
	}
	// Job a finishes: its slot is free again, and c's rows were refunded
	// (300 + 300 + 300 = 900 of 1,000).
	for _, b := range aBodies {
		if err := proc.HandleMessage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if j, _ := db.Jobs.GetJob(ctx, a.JobID); !j.Finished() {
		t.Fatalf("job a: %+v", j)
	}
	if _, err := submit("d", 300); err != nil {
		t.Fatalf("after a finished: %v", err)
	}
	if _, err := submit("e", 200); !apierror.Is(err, apierror.QuotaExceeded) || !strings.Contains(err.Error(), "per day") {
		t.Fatalf("1,100 rows in a day: %v, want quota_exceeded", err)
	}
	if _, err := svc.SubmitUsers(ctx, admin, batch.SubmitInput{ContentType: "text/csv", Body: usersCSV(p+"big", 1001)}); !apierror.Is(err, apierror.QuotaExceeded) {
		t.Fatalf("a job over the daily limit: %v", err)
	}
	// A dry run takes no quota.
	if _, err := svc.SubmitUsers(ctx, admin, batch.SubmitInput{ContentType: "text/csv", Body: usersCSV(p+"dry", 500), DryRun: true}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	q.take()

	// A slot whose job never got written (a crashed submit), taken long
	// ago, is reclaimed by the next submit that finds the slots full.
	svc2 := batch.NewService(db.Jobs, q, proc, env.Cursors, batch.Config{MaxActiveJobs: 2, MaxRowsPerDay: 100_000, InlineMaxRows: -1}, log)
	holders := activeJobs(t, db.Jobs)
	if len(holders) != 2 {
		t.Fatalf("active jobs %v", holders)
	}
	for id := range holders {
		if err := db.Jobs.ReleaseSlot(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	ghost := "job_000000000000000000dead"
	if ok, _, err := db.Jobs.AcquireSlot(ctx, ghost, 2, time.Now().Add(-10*time.Minute)); !ok || err != nil {
		t.Fatalf("ghost slot: %v %v", ok, err)
	}
	young := "job_00000000000000000young"
	if ok, _, err := db.Jobs.AcquireSlot(ctx, young, 2, time.Now()); !ok || err != nil {
		t.Fatalf("young slot: %v %v", ok, err)
	}
	if _, err := svc2.SubmitUsers(ctx, admin, batch.SubmitInput{ContentType: "text/csv", Body: usersCSV(p+"f", 10)}); err != nil {
		t.Fatalf("submit with a ghost slot: %v", err)
	}
	got := activeJobs(t, db.Jobs)
	if _, ok := got[ghost]; ok || len(got) != 2 {
		t.Fatalf("after reclaim: %v (the ghost must go, the young slot stay)", got)
	}
	if _, ok := got[young]; !ok {
		t.Fatalf("a young slot was reclaimed: %v", got)
	}
}

func activeJobs(t *testing.T, jobs batch.Store) map[string]time.Time {
	t.Helper()
	_, holders, err := jobs.AcquireSlot(context.Background(), "job_probe", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return holders
}

// TestRequestCounts pins the requests and write units of a job, chunk by
// chunk (docs/data-model.md quotes them).
func TestRequestCounts(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	cfg, counter := env.Counted()
	db := env.DB(cfg)
	log := logging.NewTo(io.Discard, "batch")
	proc := batch.NewProcessor(db.Jobs, log, batch.ProcessorOptions{})
	q := &capture{}
	svc := batch.NewService(db.Jobs, q, proc, env.Cursors, batch.Config{MaxActiveJobs: 1000, MaxRowsPerDay: 10_000_000, InlineMaxRows: -1}, log)
	ctx := context.Background()
	sub, err := svc.SubmitUsers(ctx, *testenv.Admin(), batch.SubmitInput{ContentType: "text/csv", Body: usersCSV(testenv.ID("cost"), 400)})
	if err != nil {
		t.Fatal(err)
	}
	s := counter.Snapshot()
	want := map[string]int{"DynamoDB.UpdateItem": 2, "DynamoDB.PutItem": 1, "DynamoDB.GetItem": 1}
	for op, n := range want {
		if s.Count(op) != n {
			t.Fatalf("submit requests %v, want %v", s.Requests, want)
		}
	}
	bodies := q.take()
	if len(bodies) != 2 {
		t.Fatalf("%d chunks", len(bodies))
	}
	for i, b := range bodies {
		counter.Reset()
		if err := proc.HandleMessage(ctx, b); err != nil {
			t.Fatal(err)
		}
		s := counter.Snapshot()
		want := map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.PutItem": 200, "DynamoDB.TransactWriteItems": 1, "DynamoDB.GetItem": 1}
		if i == 1 {
			want["DynamoDB.UpdateItem"] = 1 // the last chunk frees the job's slot
		}
		if len(s.Requests) != len(want) {
			t.Fatalf("chunk %d requests %v, want %v", i, s.Requests, want)
		}
		for op, n := range want {
			if s.Count(op) != n {
				t.Fatalf("chunk %d requests %v, want %v", i, s.Requests, want)
			}
		}
		if s.WriteUnits > 0 && s.WriteUnits > 200*1.03 {
			t.Fatalf("chunk %d: %.1f WCU for 200 users", i, s.WriteUnits)
		}
		t.Logf("chunk %d: %s", i, s)
	}
	// Redelivering a committed chunk writes no row and counts nothing: one
	// read, and (the job being finished) a no-op release of its slot.
	counter.Reset()
	if err := proc.HandleMessage(ctx, bodies[0]); err != nil {
		t.Fatal(err)
	}
	if s := counter.Snapshot(); s.Total("DynamoDB") != 2 || s.Count("DynamoDB.BatchGetItem") != 1 || s.Count("DynamoDB.UpdateItem") != 1 {
		t.Fatalf("redelivery after commit: %v", s.Requests)
	}
	if j, _ := db.Jobs.GetJob(ctx, sub.JobID); j.Created != 400 {
		t.Fatalf("job %+v", j)
	}
}
