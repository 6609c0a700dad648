package queue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
)

// recorder is a Redeliverer that keeps what it was asked (and may fail).
type recorder struct {
	got []queue.Redelivery
	err error
}

func (r *recorder) Redeliver(_ context.Context, rs []queue.Redelivery) error {
	r.got = append(r.got, rs...)
	return r.err
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		receives int
		want     time.Duration
	}{{0, 2 * time.Second}, {1, 2 * time.Second}, {2, 8 * time.Second}, {3, 32 * time.Second}, {4, 128 * time.Second},
		{5, 5 * time.Minute}, {20, 5 * time.Minute}, {1 << 30, 5 * time.Minute}} {
		if got := queue.RetryDelay(tc.receives); got != tc.want {
			t.Errorf("RetryDelay(%d) = %s, want %s", tc.receives, got, tc.want)
		}
	}
}

// TestRedeliver: failed records are rescheduled after RetryDelay of their
// receive count, records never started at once, each id once; records
// that succeeded, were dropped as malformed or carry no receipt are left
// alone; a failing Redeliverer is logged and changes nothing reported.
func TestRedeliver(t *testing.T) {
	withReceipt := func(id, body string, receives int) queue.Record {
		return queue.Record{ID: id, Body: body, ReceiveCount: receives, Receipt: "rh-" + id, Source: "arn:aws:sqs:us-east-1:1:q"}
	}
	type want struct {
		id    string
		after time.Duration
	}
	tests := []struct {
		name     string
		parallel int
		deadline time.Duration
		records  []queue.Record
		fail     error
		want     []want
	}{
		{"success costs nothing", 3, 0, []queue.Record{withReceipt("a", "ok", 1)}, nil, nil},
		{"failures by receive count", 3, 0,
			[]queue.Record{withReceipt("a", "fail", 1), withReceipt("b", "ok", 1), withReceipt("c", "panic", 3), withReceipt("d", "malformed", 1)}, nil,
			[]want{{"a", 2 * time.Second}, {"c", 32 * time.Second}}},
		{"same message twice, once", 3, 0, []queue.Record{withReceipt("a", "fail", 2), withReceipt("a", "fail", 2)}, nil, []want{{"a", 8 * time.Second}}},
		{"no receipt, no schedule", 3, 0, []queue.Record{rec("a", "fail"), withReceipt("b", "fail", 1)}, nil, []want{{"b", 2 * time.Second}}},
		{"not started comes back at once", 1, margin + 200*time.Millisecond,
			[]queue.Record{withReceipt("a", "slow", 3), withReceipt("b", "slow", 3), withReceipt("c", "slow", 3)}, nil,
			// One record runs into the margin (failed, 32 s); the other two
			// never start (0). Which one starts is the scheduler's choice.
			[]want{{"", 32 * time.Second}, {"", 0}, {"", 0}}},
		{"redeliverer fails: failures still reported", 3, 0, []queue.Record{withReceipt("a", "fail", 1)}, errors.New("sqs down"), []want{{"a", 2 * time.Second}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := within(t, tc.deadline)
			var logs bytes.Buffer
			var started atomic.Int64
			rd := &recorder{err: tc.fail}
			r := &queue.Runner{Name: "test", Log: slog.New(slog.NewJSONHandler(&logs, nil)), Parallel: tc.parallel, Margin: margin,
				Process: process(&started), Redeliver: rd}
			res := r.Run(ctx, tc.records)
			var got []want
			for _, x := range rd.got {
				if x.Record.Receipt != "rh-"+x.Record.ID {
					t.Fatalf("redelivery of %s carries receipt %q", x.Record.ID, x.Record.Receipt)
				}
				got = append(got, want{x.Record.ID, x.After})
			}
			if len(tc.want) > 0 && tc.want[0].id == "" { // compare delays only, as a multiset
				var ds, ws []time.Duration
				for i := range got {
					ds, got[i].id = append(ds, got[i].after), ""
				}
				for _, w := range tc.want {
					ws = append(ws, w.after)
				}
				slices.Sort(ds)
				slices.Sort(ws)
				if !slices.Equal(ds, ws) {
					t.Fatalf("redelivery delays %v, want %v", ds, ws)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("redeliveries %v, want %v (failed %v)", got, tc.want, res.Failed)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.Join(res.Failed, ","), w.id) {
					t.Fatalf("%s rescheduled but not reported failed (%v)", w.id, res.Failed)
				}
			}
			if logged := strings.Contains(logs.String(), "redelivery schedule failed"); logged != (tc.fail != nil) {
				t.Fatalf("failure logged %v, want %v:\n%s", logged, tc.fail != nil, logs.String())
			}
		})
	}
}
