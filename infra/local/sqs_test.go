package local

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/shared/testenv"
)

// TestSQSTrigger: partial batch failures, function errors and malformed
// failure lists behave as on Lambda, and the queue's redrive policy moves
// what keeps failing to the dead-letter queue.
func TestSQSTrigger(t *testing.T) {
	s := startStack(t, loadFixture(t), nil)
	client := sqs.NewFromConfig(testenv.Get(t).Cfg)
	ctx := context.Background()
	queue, dlq := s.Resources.QueueURLs["WorkQueue"], s.Resources.QueueURLs["WorkDeadLetterQueue"]
	if len(s.SQS) != 1 || s.SQS[0].Source.BatchSize != 10 || !s.SQS[0].Source.ReportFailures || s.SQS[0].Source.BatchWindow != 1 {
		t.Fatalf("pollers = %+v", s.SQS[0].Source)
	}

	send := func(bodies ...string) {
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(string(rune('a' + i))), MessageBody: aws.String(b)})
		}
		if _, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queue, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	// dead collects bodies that reached the dead-letter queue.
	dead := map[string]bool{}
	drainDLQ := func() {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &dlq, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			dead[aws.ToString(m.Body)] = true
			client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &dlq, ReceiptHandle: m.ReceiptHandle})
		}
	}
	queueEmpty := func() bool {
		a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &queue,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		return err == nil && a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	}

	tests := []struct {
		name     string
		bodies   []string
		wantDead []string
	}{
		{"all succeed", []string{"ok-1", "ok-2"}, nil},
		{"one reported failure", []string{"ok-3", "fail-1", "ok-4"}, []string{"fail-1"}},
		{"function error returns the whole batch", []string{"error", "ok-5"}, []string{"error", "ok-5"}},
		{"unknown item id returns the whole batch", []string{"bogus", "ok-6"}, []string{"bogus", "ok-6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(dead)
			send(tc.bodies...)
			ok := eventually(60*time.Second, func() bool {
				drainDLQ()
				return queueEmpty() && len(dead) == len(tc.wantDead)
			})
			if !ok {
				t.Fatalf("dead-lettered %v, want %v (queue empty: %v)", dead, tc.wantDead, queueEmpty())
			}
			for _, b := range tc.wantDead {
				if !dead[b] {
					t.Errorf("%s was not dead-lettered (%v)", b, dead)
				}
			}
		})
	}
	out := s.out.String()
	if !strings.Contains(out, "receive_count=2") || !strings.Contains(out, "source="+s.Resources.QueueARNs["WorkQueue"]) {
		t.Errorf("function did not see retries or the queue ARN:\n%s", out)
	}
}
