package testenv

import (
	"context"
	"testing"

	"github.com/tokenim/tokenim/shared/queue"
)

// TestMemoryQueuesFollowTheTemplate: on the memory backend every template
// queue exists and a work queue dead-letters after the template's
// maxReceiveCount, as its RedrivePolicy says.
func TestMemoryQueuesFollowTheTemplate(t *testing.T) {
	e, err := memory()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"BatchQueue", "BatchDeadLetterQueue", "SignupQueue", "SignupDeadLetterQueue", "FanoutQueue"} {
		if e.MemQueue(name) == nil {
			t.Fatalf("no memory queue %s", name)
		}
	}
	q, dlq := e.MemQueue("BatchQueue"), e.MemQueue("BatchDeadLetterQueue")
	if err := q.Send(context.Background(), queue.Message{Body: "chunk"}); err != nil {
		t.Fatal(err)
	}
	const maxReceives = 8 // template.yaml, BatchQueue's RedrivePolicy
	received := 0
	for i := 0; i < 20 && dlq.Len() == 0; i++ {
		received += len(q.Receive(10, 0)) // visibility 0: back at once, as after a failed attempt
	}
	if dlq.Len() != 1 || q.Len() != 0 || received != maxReceives {
		t.Fatalf("queue %d, dead-letter %d after %d receives; want the message dead-lettered after %d (template maxReceiveCount)",
			q.Len(), dlq.Len(), received, maxReceives)
	}
}
