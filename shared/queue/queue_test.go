package queue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
)

const margin = 300 * time.Millisecond

// process fails, panics, runs into the deadline or rejects a record as
// malformed by its body; started counts the records it began.
func process(started *atomic.Int64) queue.Processor {
	return func(ctx context.Context, r queue.Record) error {
		started.Add(1)
		switch r.Body {
		case "fail":
			return errors.New("nope")
		case "panic":
			panic("boom")
		case "slow":
			<-ctx.Done() // runs into the margin
			return ctx.Err()
		case "malformed":
			return queue.Malformed(errors.New("not json"))
		}
		return nil
	}
}

// within is a context ending after d (none for 0), cancelled with the test.
func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	if d == 0 {
		return context.Background()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func rec(id, body string) queue.Record { return queue.Record{ID: id, Body: body} }

// TestRun: only failed records are reported, each once, by id; a panic
// fails its record only; records not done Margin before the deadline are
// reported failed and the run answers before it; records not started by
// then are never started; malformed records are dropped and counted.
func TestRun(t *testing.T) {
	tests := []struct {
		name        string
		parallel    int
		records     []queue.Record
		deadline    time.Duration
		want        []string
		malformed   int
		wantStarted int64
	}{
		{"all good", 3, []queue.Record{rec("a", "ok"), rec("b", "ok")}, 0, []string{}, 0, 2},
		{"empty batch", 3, nil, 0, []string{}, 0, 0},
		{"partial failure", 3, []queue.Record{rec("a", "ok"), rec("b", "fail"), rec("c", "ok")}, 0, []string{"b"}, 0, 3},
		{"panic in one record", 3, []queue.Record{rec("a", "panic"), rec("b", "ok"), rec("c", "fail")}, 0, []string{"a", "c"}, 0, 3},
		{"same message twice", 3, []queue.Record{rec("a", "fail"), rec("a", "fail")}, 0, []string{"a"}, 0, 2},
		{"no message id is never reported", 3, []queue.Record{rec("", "fail"), rec("b", "fail")}, 0, []string{"b"}, 0, 2},
		{"malformed dropped and counted", 3, []queue.Record{rec("a", "malformed"), rec("b", "fail"), rec("c", "malformed")}, 0, []string{"b"}, 2, 3},
		{"deadline margin", 3, []queue.Record{rec("a", "slow"), rec("b", "ok"), rec("c", "slow")}, margin + 200*time.Millisecond, []string{"a", "c"}, 0, 3},
		{"not started by the margin", 1, []queue.Record{rec("a", "slow"), rec("b", "slow"), rec("c", "slow")}, margin + 200*time.Millisecond, []string{"a", "b", "c"}, 0, 1},
		{"deadline already inside the margin", 3, []queue.Record{rec("a", "ok")}, margin / 2, []string{"a"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := within(t, tc.deadline)
			var logs bytes.Buffer
			var started atomic.Int64
			r := &queue.Runner{Name: "test", Log: slog.New(slog.NewJSONHandler(&logs, nil)), Parallel: tc.parallel, Margin: margin, Process: process(&started)}
			start := time.Now()
			res := r.Run(ctx, tc.records)
			if !reflect.DeepEqual(res.Failed, tc.want) {
				t.Fatalf("failed %v, want %v", res.Failed, tc.want)
			}
			if res.Malformed != tc.malformed {
				t.Fatalf("malformed %d, want %d", res.Malformed, tc.malformed)
			}
			if got := strings.Count(logs.String(), `"msg":"malformed message dropped"`); got != tc.malformed {
				t.Fatalf("%d malformed log lines, want %d:\n%s", got, tc.malformed, logs.String())
			}
			if got := started.Load(); got != tc.wantStarted {
				t.Fatalf("%d records started, want %d", got, tc.wantStarted)
			}
			if tc.deadline > margin && time.Since(start) > tc.deadline-margin/2 {
				t.Fatalf("answered after %s, too close to the deadline", time.Since(start))
			}
		})
	}
}
