package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	tevents "github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
)

// letters is a queue.Sender that keeps what it is sent (or fails).
type letters struct {
	got  []string
	fail bool
}

func (l *letters) Send(_ context.Context, m queue.Message) error {
	if l.fail {
		return errors.New("sqs down")
	}
	l.got = append(l.got, m.Body)
	return nil
}

// messageRecord is a message item's INSERT; seq is its seq attribute as
// the stream carries it (a number, or a string to make it unreadable).
func messageRecord(id string, seq events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("C#dm:alice:bob"), "sk": events.NewStringAttribute("MSG#000000000007")}
	img := map[string]events.DynamoDBAttributeValue{"pk": keys["pk"], "sk": keys["sk"], "id": events.NewStringAttribute("m7"), "seq": seq,
		"st": events.NewStringAttribute("user"), "sender": events.NewStringAttribute("alice"), "text": events.NewStringAttribute("hi"),
		"ct": events.NewNumberAttribute("1764658800000")}
	return events.DynamoDBEventRecord{EventID: id, EventName: "INSERT", EventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/M/stream/x",
		Change: events.DynamoDBStreamRecord{Keys: keys, NewImage: img, SequenceNumber: id, StreamViewType: "NEW_IMAGE"}}
}

// TestUnreadableRecordsAreDeadLettered: a record no event can be derived
// from goes to the dead-letter queue (its position, the reason, the
// record) and the batch's other events are published; when the
// dead-letter queue refuses it, the batch is reported failed (retried)
// and nothing is published.
func TestUnreadableRecordsAreDeadLettered(t *testing.T) {
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		messageRecord("100", events.NewStringAttribute("not a number")), messageRecord("101", events.NewNumberAttribute("7"))}}
	rec, dead := &recorder{}, &letters{}
	resp, err := NewHandler(rec, nil, quiet).WithDeadLetters(dead).Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v, want the batch done", resp, err)
	}
	if len(rec.evs) != 1 || rec.evs[0].Type != tevents.MessageCreated {
		t.Fatalf("published %+v, want the readable record's message.created", rec.evs)
	}
	if len(dead.got) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead.got))
	}
	var letter struct {
		Unreadable map[string]any  `json:"unreadable_stream_record"`
		Error      string          `json:"error"`
		Record     json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal([]byte(dead.got[0]), &letter); err != nil {
		t.Fatal(err)
	}
	if letter.Unreadable["sequence_number"] != "100" || !strings.Contains(letter.Unreadable["stream_arn"].(string), "stream") ||
		letter.Error == "" || !strings.Contains(string(letter.Record), `"not a number"`) {
		t.Fatalf("dead letter %s: want the record's position, reason and body", dead.got[0])
	}

	rec2 := &recorder{}
	resp, _ = NewHandler(rec2, nil, quiet).WithDeadLetters(&letters{fail: true}).Handle(context.Background(), batch)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "100" || len(rec2.evs) != 0 {
		t.Fatalf("with the dead-letter queue down: %+v, %d published; want the batch retried from 100, nothing published", resp, len(rec2.evs))
	}
}
