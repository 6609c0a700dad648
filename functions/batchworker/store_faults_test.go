package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

var errInjected = errors.New("injected store fault")

// faultyStore fails the worker's writes (CreateUserForJob, CommitChunk,
// ReleaseSlot) at every period-th call, up to max times, alternately
// before the write (as a throttled request) and after it was applied (as a
// reply lost on the way back), so a redelivery meets its own earlier write.
// It is batchtest.Faults for a store port: what is left of the SDK-level
// faults once the SDK's retries gave up, without an emulator.
type faultyStore struct {
	batch.Store
	period, max     int64
	calls           atomic.Int64
	throttled, lost atomic.Int64
}

func (s *faultyStore) write(apply func() error) error {
	n := s.calls.Add(1)
	k := n / s.period
	if n%s.period != 0 || k > s.max {
		return apply()
	}
	if k%2 == 1 {
		s.throttled.Add(1)
		return errInjected
	}
	if err := apply(); err != nil {
		return err
	}
	s.lost.Add(1)
	return errInjected
}

func (s *faultyStore) CreateUserForJob(ctx context.Context, u users.User, jobID string) (out batch.Outcome, err error) {
	err = s.write(func() (e error) { out, e = s.Store.CreateUserForJob(ctx, u, jobID); return e })
	return out, err
}

func (s *faultyStore) CommitChunk(ctx context.Context, c batch.Commit) (done bool, err error) {
	err = s.write(func() (e error) { done, e = s.Store.CommitChunk(ctx, c); return e })
	return done, err
}

func (s *faultyStore) ReleaseSlot(ctx context.Context, jobID string) error {
	return s.write(func() error { return s.Store.ReleaseSlot(ctx, jobID) })
}

// TestStoreFaults: the worker's store writes fail now and then, some
// before and some after being applied, and the chunks they hit are
// redelivered by the queue: the import still ends with exactly every user
// and exact counters. (TestFaultInjection does the same with faults in
// the SDK against the emulator.)
func TestStoreFaults(t *testing.T) {
	env := testenv.Get(t)
	faulty := &faultyStore{Store: env.Stores().Jobs, period: 150, max: 4}
	w := newWorld(t, faulty, batchQueue(t))
	n := 800 // 4 chunks; the 4 faults fall at calls 150, 300, 450, 600
	poller := importAll(t, w, "sf", n, time.Minute, 1)
	if faulty.throttled.Load() != 2 || faulty.lost.Load() != 2 {
		t.Fatalf("faults injected: %d throttled, %d lost replies; want 2 and 2", faulty.throttled.Load(), faulty.lost.Load())
	}
	if poller.ItemFailures.Load()+poller.WholeBatchFailures.Load() == 0 {
		t.Fatal("no delivery failed: the faults did not reach the worker")
	}
	t.Logf("%d rows: creates %d new + %d recognised; %d invocations, %d messages received, %d reported failed",
		n, w.st.created.Load(), w.st.earlier.Load(), poller.Invocations.Load(), poller.Received.Load(), poller.ItemFailures.Load())
}
