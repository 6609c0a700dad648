package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
)

// fakeJobs fails the jobs of groups listed in fail.
type fakeJobs struct {
	mu   sync.Mutex
	fail map[string]bool
	seen []realtime.Job
}

func (f *fakeJobs) Process(_ context.Context, j realtime.Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, j)
	if f.fail[j.Group] {
		return errors.New("boom")
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
	tests := []struct {
		name    string
		records []events.SQSMessage
		failed  []string
	}{
		{"fixture job succeeds", []events.SQSMessage{rec("m1", "")}, nil},
		{"only the failing job is reported", []events.SQSMessage{rec("m1", ""), rec("m2", `{"kind":"chunk","group_id":"bad","users":["x"],"frame":{}}`), rec("m3", "")}, []string{"m2"}},
		{"unreadable job is reported", []events.SQSMessage{rec("m4", `not json`), rec("m5", "")}, []string{"m4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jobs := &fakeJobs{fail: map[string]bool{"bad": true}}
			h := NewHandler(jobs, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			var resp events.SQSEventResponse
			testenv.Invoke(t, h.Handle, events.SQSEvent{Records: tc.records}, &resp)
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if len(got) != len(tc.failed) || (len(got) > 0 && got[0] != tc.failed[0]) {
				t.Fatalf("failures %v, want %v", got, tc.failed)
			}
		})
	}
	t.Run("fixture decodes into a chunk job", func(t *testing.T) {
		jobs := &fakeJobs{}
		h := NewHandler(jobs, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		var resp events.SQSEventResponse
		testenv.Invoke(t, h.Handle, base, &resp)
		j := jobs.seen[0]
		if j.Kind != realtime.JobChunk || j.Group != "team" || len(j.Users) != 2 || len(j.Frame) == 0 {
			t.Fatalf("job %+v", j)
		}
	})
}
