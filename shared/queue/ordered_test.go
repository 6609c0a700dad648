package queue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
)

// fifo is a FIFO record of group g with a receipt.
func fifo(id, g, body string) queue.Record {
	return queue.Record{ID: id, Body: body, Attributes: map[string]string{queue.GroupAttribute: g}, Receipt: "rh-" + id,
		ReceiveCount: 1, Source: "arn:aws:sqs:us-east-1:1:q.fifo"}
}

// TestRunOrdered: FIFO records run in order within their group; the
// first failure of a group (an error, a panic or RetryAfter) stops it:
// its later records are not started, are reported failed and come back
// at once, behind the failed one, which comes back after its delay;
// other groups go on; a malformed record is dropped without stopping
// its group.
func TestRunOrdered(t *testing.T) {
	type redo struct {
		id    string
		after time.Duration
	}
	tests := []struct {
		name    string
		records []queue.Record
		ran     map[string][]string // group -> bodies processed, in order
		failed  []string
		redo    []redo
	}{
		{"all good, in order", []queue.Record{fifo("a1", "A", "a1"), fifo("b1", "B", "b1"), fifo("a2", "A", "a2"), fifo("a3", "A", "a3")},
			map[string][]string{"A": {"a1", "a2", "a3"}, "B": {"b1"}}, []string{}, nil},
		{"a failure holds its group back", []queue.Record{fifo("a1", "A", "a1"), fifo("a2", "A", "fail"), fifo("b1", "B", "b1"),
			fifo("a3", "A", "a3"), fifo("b2", "B", "b2"), fifo("a4", "A", "a4")},
			map[string][]string{"A": {"a1", "fail"}, "B": {"b1", "b2"}}, []string{"a2", "a3", "a4"},
			[]redo{{"a2", 2 * time.Second}, {"a3", 0}, {"a4", 0}}},
		{"retry after the processor's wait", []queue.Record{fifo("a1", "A", "later"), fifo("a2", "A", "a2"), fifo("b1", "B", "later")},
			map[string][]string{"A": {"later"}, "B": {"later"}}, []string{"a1", "a2", "b1"},
			[]redo{{"a1", 90 * time.Second}, {"a2", 0}, {"b1", 90 * time.Second}}},
		{"a panic holds its group back", []queue.Record{fifo("a1", "A", "panic"), fifo("a2", "A", "a2")},
			map[string][]string{"A": {"panic"}}, []string{"a1", "a2"}, []redo{{"a1", 2 * time.Second}, {"a2", 0}}},
		{"malformed is dropped, the group goes on", []queue.Record{fifo("a1", "A", "malformed"), fifo("a2", "A", "a2")},
			map[string][]string{"A": {"malformed", "a2"}}, []string{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			ran := map[string][]string{}
			proc := func(ctx context.Context, r queue.Record) error {
				mu.Lock()
				g := r.Attributes[queue.GroupAttribute]
				ran[g] = append(ran[g], r.Body)
				mu.Unlock()
				time.Sleep(time.Millisecond) // let groups interleave
				switch r.Body {
				case "fail":
					return errors.New("nope")
				case "panic":
					panic("boom")
				case "later":
					return queue.RetryAfter(90*time.Second, "receiver failed")
				case "malformed":
					return queue.Malformed(errors.New("not json"))
				}
				return nil
			}
			var logs bytes.Buffer
			rd := &recorder{}
			r := &queue.Runner{Name: "test", Log: slog.New(slog.NewJSONHandler(&logs, nil)), Parallel: 4, Margin: margin, Process: proc, Redeliver: rd}
			res := r.Run(context.Background(), tc.records)
			if !reflect.DeepEqual(ran, tc.ran) {
				t.Fatalf("processed %v, want %v", ran, tc.ran)
			}
			if !reflect.DeepEqual(res.Failed, tc.failed) {
				t.Fatalf("failed %v, want %v", res.Failed, tc.failed)
			}
			var got []redo
			for _, x := range rd.got {
				got = append(got, redo{x.Record.ID, x.After})
			}
			slices.SortFunc(got, func(a, b redo) int { return strings.Compare(a.id, b.id) })
			if !reflect.DeepEqual(got, tc.redo) {
				t.Fatalf("redeliveries %v, want %v", got, tc.redo)
			}
		})
	}
}

// TestRunOrderedDeadline: a group whose record runs into the deadline
// margin reports it and its later records failed, never starting them.
func TestRunOrderedDeadline(t *testing.T) {
	var mu sync.Mutex
	var started []string
	proc := func(ctx context.Context, r queue.Record) error {
		mu.Lock()
		started = append(started, r.ID)
		mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	r := &queue.Runner{Name: "test", Log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)), Parallel: 2, Margin: margin, Process: proc}
	res := r.Run(within(t, margin+200*time.Millisecond), []queue.Record{fifo("a1", "A", "x"), fifo("a2", "A", "x")})
	if !slices.Equal(started, []string{"a1"}) || !slices.Equal(res.Failed, []string{"a1", "a2"}) {
		t.Fatalf("started %v, failed %v; want [a1], [a1 a2]", started, res.Failed)
	}
}
