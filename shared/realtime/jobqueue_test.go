package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/realtime"
)

// sender records each SendBatch and refuses what refuse says.
type sender struct {
	batches [][]queue.Message
	refuse  []queue.Refused
	err     error
}

func (s *sender) SendBatch(_ context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	s.batches = append(s.batches, msgs)
	return s.refuse, s.err
}

func jobs(n, frameBytes int) []realtime.Job {
	frame, _ := json.Marshal(strings.Repeat("x", frameBytes))
	out := make([]realtime.Job, n)
	for i := range out {
		out[i] = realtime.Job{Kind: realtime.JobChunk, Group: "g", Users: []string{"u"}, Frame: frame}
	}
	return out
}

// TestJobQueueBatches: the domain's batching rules (at most 10 entries and
// 200 KB per SendBatch), the delay, and what a refusal means (an error).
func TestJobQueueBatches(t *testing.T) {
	tests := []struct {
		name      string
		jobs      []realtime.Job
		refuse    []queue.Refused
		sendErr   error
		wantSizes []int
		wantErr   bool
	}{
		{"none", nil, nil, nil, nil, false},
		{"25 small jobs: 10, 10, 5", jobs(25, 10), nil, nil, []int{10, 10, 5}, false},
		{"5 jobs of 60 KB: 3, 2 (200 KB)", jobs(5, 60<<10), nil, nil, []int{3, 2}, false},
		{"a refused entry is an error", jobs(2, 10), []queue.Refused{{Index: 1, Code: "X"}}, nil, []int{2}, true},
		{"a failed call is an error", jobs(2, 10), nil, errors.New("down"), []int{2}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &sender{refuse: tc.refuse, err: tc.sendErr}
			err := realtime.NewJobQueue(s).Enqueue(context.Background(), tc.jobs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			var sizes []int
			for _, b := range s.batches {
				sizes = append(sizes, len(b))
			}
			if !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tc.wantSizes)
			}
		})
	}
}

func TestJobQueueDelay(t *testing.T) {
	s := &sender{}
	j := jobs(1, 1)[0]
	j.Delay = 4
	if err := realtime.NewJobQueue(s).Enqueue(context.Background(), []realtime.Job{j}); err != nil {
		t.Fatal(err)
	}
	if got := s.batches[0][0].Delay; got != 4*time.Second {
		t.Errorf("delay %v, want 4s", got)
	}
	var back realtime.Job
	if err := json.Unmarshal([]byte(s.batches[0][0].Body), &back); err != nil || back.Kind != realtime.JobChunk {
		t.Errorf("body %q does not decode to the job: %v", s.batches[0][0].Body, err)
	}
}
