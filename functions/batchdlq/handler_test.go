package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/batch/batchtest"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var roomy = batch.Config{MaxActiveJobs: 1000, MaxRowsPerDay: 100_000_000, InlineMaxRows: -1}

// fast gives up on a failing write quickly, so a poison chunk fails its
// deliveries in a few milliseconds.
var fast = batch.Backoff{Attempts: 2, Base: 5 * time.Millisecond, Cap: 10 * time.Millisecond}

// poison matches a PutItem of a user whose id starts with "poison".
func poison(op string, in any) bool {
	p, ok := in.(*dynamodb.PutItemInput)
	if !ok || op != "PutItem" {
		return false
	}
	sk, _ := p.Item["sk"].(*types.AttributeValueMemberS)
	return sk != nil && strings.HasPrefix(sk.Value, "poison")
}

// poisonStore fails the create of every user whose id starts with
// "poison", as poison does through the SDK: TestPoisonChunk's fault on the
// store port, so the rule holds on any backend.
type poisonStore struct {
	batch.Store
	poisoned atomic.Int64
}

func (s *poisonStore) CreateUserForJob(ctx context.Context, u users.User, jobID string) (batch.Outcome, error) {
	if strings.HasPrefix(u.UserID, "poison") {
		s.poisoned.Add(1)
		return 0, errors.New("injected poison")
	}
	return s.Store.CreateUserForJob(ctx, u, jobID)
}

// TestPoisonChunk: a chunk that fails every delivery goes to the
// dead-letter queue after maxReceiveCount (5) receives; the consumer
// closes it: its rows this job wrote count as created, the poison rows as
// not_processed, and the job finishes with exact counters. The poison
// rows' writes fail in the SDK (against the emulator) or in the store
// port (on any backend).
func TestPoisonChunk(t *testing.T) {
	t.Run("store port", func(t *testing.T) {
		st := &poisonStore{Store: testenv.Get(t).Stores().Jobs}
		poisonChunk(t, st)
		t.Logf("%d poisoned writes", st.poisoned.Load())
	})
	t.Run("SDK", func(t *testing.T) {
		testenv.NeedAWS(t) // faults through SDK middleware
		env := testenv.Get(t)
		cfg := env.Cfg.Copy()
		faults := batchtest.NewFaults(0, 1)
		faults.Poison = poison
		faults.Attach(&cfg)
		poisonChunk(t, env.DB(cfg).Jobs)
		t.Logf("%d poisoned writes", faults.Poisoned.Load())
	})
}

// poisonChunk runs TestPoisonChunk's import over jobs, whose writes of the
// "poison" users fail.
func poisonChunk(t *testing.T, jobs batch.Store) {
	t.Helper()
	env := testenv.Get(t)
	log := logging.NewTo(io.Discard, "batchdlq")
	proc := batch.NewProcessor(jobs, log, batch.ProcessorOptions{Backoff: fast})
	svc := batch.NewService(jobs, env.Queue("BatchQueue"), proc, env.Cursors, roomy, log)

	p := testenv.ID("dl")
	var b strings.Builder
	b.WriteString("user_id\n")
	poisonRows := map[int]bool{250: true, 251: true, 399: true}
	for row := 1; row <= 600; row++ {
		if poisonRows[row] {
			fmt.Fprintf(&b, "poison-%s-%d\n", p, row)
			continue
		}
		fmt.Fprintf(&b, "%s-%d\n", p, row)
	}
	sub, err := svc.SubmitUsers(context.Background(), *testenv.Admin(), batch.SubmitInput{ContentType: "text/csv", Body: []byte(b.String())})
	if err != nil || sub.Chunks != 3 {
		t.Fatalf("submit: %+v %v", sub, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The worker, as Lambda runs it, until the poison chunk is dead.
	worker := env.Poller("BatchQueue", lambdasqs.Handler(&queue.Runner{Log: log, Parallel: 10, Process: func(ctx context.Context, r queue.Record) error { return proc.HandleMessage(ctx, r.Body) }}))
	worker.Visibility = 1
	if env.Memory != nil {
		worker.Visibility = 0 // redeliver at once: the memqueue's clock is the real one
	}
	if err := worker.Run(ctx, 1, func() bool { return env.QueueLen(ctx, "BatchDeadLetterQueue") > 0 }); err != nil {
		t.Fatalf("worker: %v", err)
	}
	mid, _ := jobs.GetJob(ctx, sub.JobID)
	if mid.Finished() || mid.ChunksDone != 2 || worker.ItemFailures.Load() < 5 {
		t.Fatalf("before the dead-letter consumer: %+v, %d failed deliveries", mid, worker.ItemFailures.Load())
	}

	// The dead-letter consumer.
	dead := env.Poller("BatchDeadLetterQueue", NewHandler(proc, log, nil))
	dead.Visibility = 5
	if err := dead.Run(ctx, 1, func() bool { j, err := jobs.GetJob(ctx, sub.JobID); return err == nil && j.Finished() }); err != nil {
		t.Fatalf("dead-letter consumer: %v", err)
	}
	j, _ := jobs.GetJob(ctx, sub.JobID)
	j.Derive()
	if j.State != batch.StatePartiallyFailed || j.Created != 597 || j.Failed != 3 || j.Pending != 0 {
		t.Fatalf("job %+v", j)
	}
	page, err := svc.Errors(ctx, *testenv.Admin(), sub.JobID, 10, batch.MaxErrorPage, "")
	if err != nil || len(page.Errors) != 3 {
		t.Fatalf("errors %+v %v", page, err)
	}
	for i, row := range []int{250, 251, 399} {
		e := page.Errors[i]
		if e.Row != row || e.Code != apierror.NotProcessed || e.ID != "poison-"+p+"-"+strconv.Itoa(row) || !strings.Contains(e.Message, "dead-letter") {
			t.Fatalf("error %d: %+v", i, e)
		}
	}
	// The good rows of the poison chunk were written in its deliveries and
	// are counted created, once.
	found, err := env.Stores().Jobs.FindUsers(ctx, []string{p + "-201", p + "-400", p + "-252"})
	if err != nil || len(found) != 3 || found[p+"-252"] != sub.JobID {
		t.Fatalf("rows of the dead chunk: %v %v", found, err)
	}
	t.Logf("poison chunk: %d failed deliveries before the DLQ", worker.ItemFailures.Load())
}

// TestDeadLetterEdgeCases: undecodable dead letters are dropped (nothing to
// attribute them to), a dead letter of a committed chunk changes nothing.
func TestDeadLetterEdgeCases(t *testing.T) {
	env := testenv.Get(t)
	db := env.Stores()
	log := logging.NewTo(io.Discard, "batchdlq")
	proc := batch.NewProcessor(db.Jobs, log, batch.ProcessorOptions{})
	q := &capture{}
	svc := batch.NewService(db.Jobs, q, proc, env.Cursors, roomy, log)
	p := testenv.ID("dle")
	sub, err := svc.SubmitUsers(context.Background(), *testenv.Admin(), batch.SubmitInput{ContentType: "text/csv", Body: []byte("user_id\n" + p + "-1\n" + p + "-2\n")})
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.HandleMessage(context.Background(), q.bodies[0]); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(proc, log, nil)
	var tmpl events.SQSEvent
	testenv.Fixture(t, "sqs-batch.json", &tmpl)
	ev := events.SQSEvent{}
	for i, body := range []string{"garbage", q.bodies[0], strings.Replace(q.bodies[0], sub.JobID, "job_eeeeeeeeeeeeeeeeeeeeeeee", 1)} {
		r := tmpl.Records[0]
		r.MessageId, r.Body = "d-"+strconv.Itoa(i), body
		r.Attributes["ApproximateReceiveCount"] = "6"
		ev.Records = append(ev.Records, r)
	}
	var resp events.SQSEventResponse
	testenv.Invoke(t, h, ev, &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	j, _ := db.Jobs.GetJob(context.Background(), sub.JobID)
	if j.Created != 2 || j.Failed != 0 || j.ChunksDone != 1 {
		t.Fatalf("job changed: %+v", j)
	}
}

type capture struct{ bodies []string }

func (c *capture) SendBatch(_ context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	for _, m := range msgs {
		c.bodies = append(c.bodies, m.Body)
	}
	return nil, nil
}
