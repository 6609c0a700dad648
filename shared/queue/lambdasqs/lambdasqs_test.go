package lambdasqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
)

// TestHandler: through the Lambda handler, records carry id, body and
// receive count; failures come back as batchItemFailures (an empty list,
// not null, when none failed); malformed records are not among them.
func TestHandler(t *testing.T) {
	tests := []struct {
		name    string
		records []events.SQSMessage
		want    []events.SQSBatchItemFailure
	}{
		{"none failed", []events.SQSMessage{{MessageId: "a", Body: "ok"}}, []events.SQSBatchItemFailure{}},
		{"failed and malformed", []events.SQSMessage{
			{MessageId: "a", Body: "fail", Attributes: map[string]string{"ApproximateReceiveCount": "3"},
				ReceiptHandle: "rh-a", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:q"},
			{MessageId: "b", Body: "malformed"},
			{MessageId: "c", Body: "ok"},
		}, []events.SQSBatchItemFailure{{ItemIdentifier: "a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]queue.Record{}
			r := &queue.Runner{Name: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Process: func(_ context.Context, r queue.Record) error {
				seen[r.ID] = r // Parallel 1: one record at a time
				switch r.Body {
				case "fail":
					return errors.New("nope")
				case "malformed":
					return queue.Malformed(errors.New("bad"))
				}
				return nil
			}}
			in, err := json.Marshal(events.SQSEvent{Records: tc.records})
			if err != nil {
				t.Fatal(err)
			}
			out, err := lambda.NewHandler(lambdasqs.Handler(r)).Invoke(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp.BatchItemFailures, tc.want) {
				t.Fatalf("failures %+v, want %+v (%s)", resp.BatchItemFailures, tc.want, out)
			}
			for _, m := range tc.records {
				want := queue.Record{ID: m.MessageId, Body: m.Body, Attributes: m.Attributes, Receipt: m.ReceiptHandle, Source: m.EventSourceARN}
				if m.Attributes["ApproximateReceiveCount"] == "3" {
					want.ReceiveCount = 3
				}
				if got := seen[m.MessageId]; !reflect.DeepEqual(got, want) {
					t.Fatalf("record %+v, want %+v", got, want)
				}
			}
		})
	}
}
