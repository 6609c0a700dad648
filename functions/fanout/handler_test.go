package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
)

// fakeJobs fails the jobs of groups listed in fail.
type fakeJobs struct {
	mu   sync.Mutex
	fail map[string]bool
	seen []realtime.Job
}

func (f *fakeJobs) Process(ctx context.Context, j realtime.Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, j)
	switch {
	case f.fail[j.Group]:
		return errors.New("boom")
	case j.Group == "panic":
		panic("boom")
	case j.Group == "slow":
		f.mu.Unlock()
		defer f.mu.Lock()
		<-ctx.Done() // runs into the deadline margin
		return ctx.Err()
	}
	return nil
}

func TestBatchItemFailures(t *testing.T) {
	var base events.SQSEvent
	testenv.Fixture(t, "sqs-fanout.json", &base)
	rec := func(id, body string) events.SQSMessage {
		r := base.Records[0]
		r.MessageId = id
		if body != "" {
			r.Body = body
		}
		return r
	}
	job := func(group string) string {
		return `{"kind":"chunk","group_id":"` + group + `","users":["x"],"frame":{}}`
	}
	tests := []struct {
		name     string
		records  []events.SQSMessage
		deadline time.Duration
		failed   []string
	}{
		{"fixture job succeeds", []events.SQSMessage{rec("m1", "")}, 0, nil},
		{"only the failing job is reported", []events.SQSMessage{rec("m1", ""), rec("m2", job("bad")), rec("m3", "")}, 0, []string{"m2"}},
		{"unreadable job is dropped, not retried", []events.SQSMessage{rec("m4", `not json`), rec("m5", "")}, 0, nil},
		{"a panic fails its own job only", []events.SQSMessage{rec("m1", job("panic")), rec("m2", "")}, 0, []string{"m1"}},
		// Finished jobs (m2, their pushes sent) are not reported: only the
		// job cut off by the margin is redelivered, before the timeout.
		{"deadline margin", []events.SQSMessage{rec("m1", job("slow")), rec("m2", "")}, queue.DefaultMargin + 300*time.Millisecond, []string{"m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jobs := &fakeJobs{fail: map[string]bool{"bad": true}}
			h := NewHandler(jobs, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			in, err := json.Marshal(events.SQSEvent{Records: tc.records})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, err := lambda.NewHandler(h).Invoke(ctx, in)
			if tc.deadline > 0 && time.Since(start) > tc.deadline-queue.DefaultMargin/2 {
				t.Fatalf("answered after %s: too close to the %s deadline", time.Since(start), tc.deadline)
			}
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if !slices.Equal(got, tc.failed) {
				t.Fatalf("failures %v, want %v", got, tc.failed)
			}
		})
	}
	t.Run("fixture decodes into a chunk job", func(t *testing.T) {
		jobs := &fakeJobs{}
		h := NewHandler(jobs, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
		var resp events.SQSEventResponse
		testenv.Invoke(t, h, base, &resp)
		j := jobs.seen[0]
		if j.Kind != realtime.JobChunk || j.Group != "team" || len(j.Users) != 2 || len(j.Frame) == 0 {
			t.Fatalf("job %+v", j)
		}
	})
}
