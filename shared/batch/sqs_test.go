package batch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestSQSHandlerContract: only failed records are reported, each once, by
// message id; panics and bodies that fail are contained; records not done
// DeadlineMargin before the invocation's deadline are reported failed; the
// function never returns an error.
func TestSQSHandlerContract(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	handle := func(ctx context.Context, m events.SQSMessage) error {
		switch m.Body {
		case "fail":
			return errors.New("nope")
		case "panic":
			panic("boom")
		case "slow":
			<-ctx.Done() // runs into the deadline
			return ctx.Err()
		}
		return nil
	}
	rec := func(id, body string) events.SQSMessage { return events.SQSMessage{MessageId: id, Body: body} }
	tests := []struct {
		name     string
		parallel int
		records  []events.SQSMessage
		deadline time.Duration
		want     []string
	}{
		{"all good", 3, []events.SQSMessage{rec("a", "ok"), rec("b", "ok")}, 0, []string{}},
		{"empty batch", 3, nil, 0, []string{}},
		{"one fails", 3, []events.SQSMessage{rec("a", "ok"), rec("b", "fail"), rec("c", "ok")}, 0, []string{"b"}},
		{"panic", 3, []events.SQSMessage{rec("a", "panic"), rec("b", "ok")}, 0, []string{"a"}},
		{"same message twice", 3, []events.SQSMessage{rec("a", "fail"), rec("a", "fail")}, 0, []string{"a"}},
		{"no message id is never reported", 3, []events.SQSMessage{rec("", "fail"), rec("b", "fail")}, 0, []string{"b"}},
		{"deadline", 3, []events.SQSMessage{rec("a", "slow"), rec("b", "ok"), rec("c", "slow")}, DeadlineMargin + 200*time.Millisecond, []string{"a", "c"}},
		{"not started by the deadline", 1, []events.SQSMessage{rec("a", "slow"), rec("b", "slow")}, DeadlineMargin + 200*time.Millisecond, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			resp, err := SQSHandler(log, tc.parallel, handle)(ctx, events.SQSEvent{Records: tc.records})
			if err != nil {
				t.Fatalf("function error %v", err)
			}
			got := []string{}
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("failures %v, want %v", got, tc.want)
			}
			if tc.deadline > 0 && time.Since(start) > tc.deadline-DeadlineMargin/2 {
				t.Fatalf("answered after %s, too close to the deadline", time.Since(start))
			}
		})
	}
}
