package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeBackstop records what the handler hands it.
type fakeBackstop struct {
	stored  [][]chat.Message
	bodies  []string
	failing error
}

func (f *fakeBackstop) Stored(_ context.Context, msgs []chat.Message) error {
	f.stored = append(f.stored, msgs)
	return f.failing
}

func (f *fakeBackstop) Process(_ context.Context, r queue.Record) error {
	f.bodies = append(f.bodies, r.Body)
	return f.failing
}

var discard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// TestStreamEvent: the stream fixture's message items reach the backstop
// decoded, in order; a failed batch names its first record, so Lambda
// delivers the batch again.
func TestStreamEvent(t *testing.T) {
	var ev map[string]any
	testenv.Fixture(t, "dynamodb-messages.json", &ev)
	f := &fakeBackstop{}
	var resp events.DynamoDBEventResponse
	testenv.Invoke(t, NewHandler(f, discard, nil).Handle, ev, &resp)
	if len(resp.BatchItemFailures) != 0 || len(f.stored) != 1 || len(f.stored[0]) != 2 {
		t.Fatalf("response %+v, stored %+v", resp, f.stored)
	}
	m, r := f.stored[0][0], f.stored[0][1]
	if m.ConversationID != "dm:alice:bob" || m.Seq != 7 || m.Text != "hello" || m.SenderID != "alice" || m.CreatedAt.UnixMilli() != 1795237805123 ||
		r.Kind != chat.KindRecall || r.RefSeq != 3 || r.Seq != 12 {
		t.Fatalf("decoded %+v and %+v", m, r)
	}

	f.failing = errors.New("throttled")
	testenv.Invoke(t, NewHandler(f, discard, nil).Handle, ev, &resp)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "111100000000000000000001" {
		t.Fatalf("failed batch: %+v, want the first record's sequence number", resp)
	}
}

// TestQueueEvent: a delay-queue record reaches the backstop's processor; a
// failure is that record's batchItemFailure.
func TestQueueEvent(t *testing.T) {
	var ev map[string]any
	testenv.Fixture(t, "sqs-delivery.json", &ev)
	f := &fakeBackstop{}
	var resp events.SQSEventResponse
	testenv.Invoke(t, NewHandler(f, discard, nil).Handle, ev, &resp)
	if len(resp.BatchItemFailures) != 0 || len(f.bodies) != 1 {
		t.Fatalf("response %+v, bodies %v", resp, f.bodies)
	}
	var body struct {
		Pending []chat.Pending `json:"pending"`
	}
	if err := json.Unmarshal([]byte(f.bodies[0]), &body); err != nil || len(body.Pending) != 1 || body.Pending[0].Seq != 7 {
		t.Fatalf("body %s: %v", f.bodies[0], err)
	}
	f.failing = errors.New("throttled")
	testenv.Invoke(t, NewHandler(f, discard, nil).Handle, ev, &resp)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "5e1c2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f" {
		t.Fatalf("failed record: %+v", resp)
	}
}

// TestUnknownEvent: anything else is an invocation error, not a silent
// success.
func TestUnknownEvent(t *testing.T) {
	for _, payload := range []string{`{}`, `{"Records":[]}`, `{"Records":[{"eventSource":"aws:s3"}]}`} {
		if _, err := lambda.NewHandler(NewHandler(&fakeBackstop{}, discard, nil).Handle).Invoke(context.Background(), []byte(payload)); err == nil {
			t.Errorf("%s: no error", payload)
		}
	}
}
