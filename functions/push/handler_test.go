package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/push"
)

// fakeJobs fails the jobs of conversations listed in fail.
type fakeJobs struct{ fail map[string]bool }

func (f fakeJobs) Process(_ context.Context, j push.Job) (push.Outcome, error) {
	if f.fail[j.ConversationID] {
		return push.Outcome{Failed: 1}, errors.New("platform unavailable")
	}
	return push.Outcome{Pushed: len(j.Users)}, nil
}

// TestBatchItemFailures: only the records whose job failed are reported,
// so SQS redelivers exactly those; an unreadable record is dropped.
func TestBatchItemFailures(t *testing.T) {
	rec := func(id, conv string) events.SQSMessage {
		b, _ := json.Marshal(push.Job{Kind: push.JobMessage, ConversationID: conv, Seq: 1, Users: []string{"bob"}})
		return events.SQSMessage{MessageId: id, Body: string(b)}
	}
	tests := []struct {
		name    string
		records []events.SQSMessage
		failed  []string
	}{
		{"all pushed", []events.SQSMessage{rec("m1", "dm:a:b"), rec("m2", "dm:a:c")}, nil},
		{"one failed", []events.SQSMessage{rec("m1", "dm:a:b"), rec("m2", "bad"), rec("m3", "dm:a:c")}, []string{"m2"}},
		{"unreadable is dropped", []events.SQSMessage{{MessageId: "m4", Body: "not json"}, rec("m5", "dm:a:b")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(fakeJobs{fail: map[string]bool{"bad": true}}, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
			in, _ := json.Marshal(events.SQSEvent{Records: tc.records})
			out, err := lambda.NewHandler(h).Invoke(context.Background(), in)
			if err != nil {
				t.Fatal(err)
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
}

func TestPlatformsSetUp(t *testing.T) {
	p := Platforms{APNs: "arn:aws:sns:us-east-1:1:app/APNS/x", FCM: "arn:aws:sns:us-east-1:1:app/GCM/y"}
	apps := p.Apps()
	if len(apps) != 2 || apps[push.APNs] == "" || apps[push.FCM] == "" || apps[push.APNsSandbox] != "" {
		t.Fatalf("apps %v", apps)
	}
}
