package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/batch/batchtest"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkImport imports BENCH_ROWS users (default 20,000; the seeds'
// case is 100,000) from one CSV through the whole pipeline: the jobs REST
// handler, SQS, the worker driven as Lambda drives it (4 concurrent
// pollers, 10 messages per invocation, partial batch responses), DynamoDB.
// In the same run it imports BENCH_NAIVE_ROWS users (default min(rows,
// 2,000)) the naive way, one users.Service.Create per row, sequentially and
// 16 at a time, and reports the ratios.
//
// Write units come from the emulator's ConsumedCapacity; "wcu/user" also
// has a model (1 per PutItem or UpdateItem, 4 per chunk commit, every item
// here < 1 KB) because moto reports nothing for transactions.
func BenchmarkImport(b *testing.B) {
	testenv.NeedAWS(b) // it measures the emulator's requests and capacity
	n := envInt("BENCH_ROWS", 20_000)
	naiveN := envInt("BENCH_NAIVE_ROWS", min(n, 2000))
	workers := envInt("BENCH_WORKERS", 4) // the template's MaximumConcurrency
	env := testenv.Get(b)
	log := logging.NewTo(io.Discard, "bench")
	for i := 0; i < b.N; i++ {
		cfg, counter := env.Counted()
		client := sqs.NewFromConfig(cfg)
		db := env.DB(cfg)
		proc := batch.NewProcessor(db.Jobs, log, batch.ProcessorOptions{}) // the submit function's (inline jobs, closing)
		svc := batch.NewService(db.Jobs, sqsqueue.New(client, env.Res.QueueURLs["BatchQueue"]), proc, env.Cursors,
			batch.Config{MaxActiveJobs: 1000, MaxRowsPerDay: 1_000_000_000}, log)
		h := NewHandler(svc, nil, nil, log)
		// Each of the concurrent workers is a sandbox with its own
		// processor (16 concurrent writes), as on Lambda.
		poller := &batchtest.Poller{SQS: client, QueueURL: env.Res.QueueURLs["BatchQueue"], QueueARN: env.Res.QueueARNs["BatchQueue"],
			Sandbox: func() any {
				p := batch.NewProcessor(db.Jobs, log, batch.ProcessorOptions{})
				return lambdasqs.Handler(&queue.Runner{Log: log, Parallel: 10, Process: func(ctx context.Context, r queue.Record) error { return p.HandleMessage(ctx, r.Body) }})
			},
			Visibility: 120}
		prefix := testenv.ID("bench")
		var body strings.Builder
		body.WriteString("user_id,nickname,metadata.class\n")
		for r := range n {
			fmt.Fprintf(&body, "%s-%06d,Student %d,7B\n", prefix, r, r)
		}

		b.ResetTimer()
		start := time.Now()
		r := testenv.Call(b, h.Handle, submitReq("users", "text/csv", body.String(), nil))
		submitted := time.Since(start)
		if r.Status != 202 {
			b.Fatalf("submit: %d %.300s", r.Status, r.Body)
		}
		jobID := r.JSON["job_id"].(string)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		err := poller.Run(ctx, workers, func() bool { j, err := db.Jobs.GetJob(ctx, jobID); return err == nil && j.Finished() })
		cancel()
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		j, _ := env.DB(env.Cfg).Jobs.GetJob(context.Background(), jobID)
		if j.Created != n || j.Failed != 0 {
			b.Fatalf("job %+v", j)
		}
		s := counter.Snapshot()
		model := float64(s.Count("DynamoDB.PutItem") + s.Count("DynamoDB.UpdateItem") + 4*s.Count("DynamoDB.TransactWriteItems"))
		sqsReq := s.Total("SQS")
		polls, idle := poller.Polls()
		dataReq := sqsReq - int(idle) // without the empty polls of idle workers
		invocations := int(poller.Invocations.Load()) + 1

		naiveSeq, naiveWCU := naive(b, env, naiveN, 1)
		naivePar, _ := naive(b, env, naiveN, 16)

		rate := float64(n) / elapsed.Seconds()
		b.ReportMetric(rate, "rows/s")
		b.ReportMetric(model/float64(n), "wcu/user")
		b.ReportMetric(s.WriteUnits/float64(n), "emulator_wcu/user")
		b.ReportMetric(float64(dataReq)*1000/float64(n), "sqs_req/1k_users")
		b.ReportMetric(float64(sqsReq)*1000/float64(n), "sqs_req_with_idle_polls/1k_users")
		b.ReportMetric(naiveSeq, "naive_rows/s")
		b.ReportMetric(rate/naiveSeq, "x_vs_naive")
		b.ReportMetric(rate/naivePar, "x_vs_naive16")
		usd := testenv.Usage{ReadUnits: s.ReadUnits, WriteUnits: model, SQSRequests: sqsReq, LambdaInvocations: invocations}.USD()
		naiveUSD := testenv.Usage{WriteUnits: naiveWCU, LambdaInvocations: 2 * naiveN}.USD() // each POST: authorizer + function
		b.ReportMetric(usd*1e6/float64(n), "usd/1M_users")
		b.Logf("pipeline: %d users in %s (submit call %s): %.0f rows/s; %d chunks, %d worker invocations; %s",
			n, elapsed.Round(time.Millisecond), submitted.Round(time.Millisecond), rate, j.Chunks, invocations-1, s)
		b.Logf("  WCU/user %.4f (model) %.4f (emulator); RCU/user %.4f; SQS %d requests carrying messages = %.2f per 1,000 users (%d with %d of %d polls empty = %.2f); $%.3f per 1M users (DynamoDB+SQS+Lambda requests, %s)",
			model/float64(n), s.WriteUnits/float64(n), s.ReadUnits/float64(n), dataReq, float64(dataReq)*1000/float64(n), sqsReq, idle, polls,
			float64(sqsReq)*1000/float64(n), usd*1e6/float64(n), testenv.PricesAsOf)
		b.Logf("naive users.Service.Create, %d users: sequential %.0f rows/s, 16 at a time %.0f rows/s; WCU/user %.2f; $%.3f per 1M users",
			naiveN, naiveSeq, naivePar, naiveWCU/float64(naiveN), naiveUSD*1e6/float64(naiveN))
		b.Logf("ratio: pipeline %.1fx the sequential naive rate, %.1fx the 16-way naive rate; %d Lambda invocations instead of %d",
			rate/naiveSeq, rate/naivePar, invocations, 2*n)
	}
}

// naive creates n users with users.Service.Create, par at a time, and
// returns rows/s and the write units the emulator reported.
func naive(b *testing.B, env *testenv.Env, n, par int) (float64, float64) {
	b.Helper()
	cfg, counter := env.Counted()
	svc := users.NewService(env.DB(cfg).Users, env.Cursors, nil)
	prefix := testenv.ID("naive")
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1) - 1
				if k >= int64(n) {
					return
				}
				in := users.CreateInput{UserID: fmt.Sprintf("%s-%06d", prefix, k), Profile: users.Profile{Nickname: "Student", Metadata: map[string]string{"class": "7B"}}}
				// Fresh ids: user_exists can only be an SDK retry of a
				// write that went through (its answer was lost).
				if _, _, err := svc.Create(context.Background(), *testenv.Admin(), in, ""); err != nil && !apierror.Is(err, apierror.UserExists) {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("naive create: %v", err)
	}
	return float64(n) / time.Since(start).Seconds(), counter.Snapshot().WriteUnits
}
