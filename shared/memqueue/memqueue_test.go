package memqueue

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSendBatchRefusesWhatSQSRefuses(t *testing.T) {
	q := New("q", Options{})
	refused, err := q.SendBatch(context.Background(), []queue.Message{{Body: "a"}, {Body: ""}, {Body: strings.Repeat("x", MaxBodyBytes+1)}, {Body: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 2 || refused[0].Index != 1 || refused[1].Index != 2 || !refused[0].Permanent {
		t.Fatalf("refused %+v, want entries 1 and 2, permanent", refused)
	}
	if got := q.Bodies(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("queue holds %q, want [a b]", got)
	}
	if _, err := q.SendBatch(context.Background(), make([]queue.Message, queue.MaxBatch+1)); err == nil {
		t.Fatal("a batch of 11 was taken")
	}
}

func TestVisibilityRedeliveryAndDelete(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := New("q", Options{Now: c.now})
	ctx := context.Background()
	for _, b := range []string{"1", "2", "3"} {
		if err := q.Send(ctx, queue.Message{Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	first := q.Receive(2, 30*time.Second)
	if len(first) != 2 || first[0].ReceiveCount != 1 || first[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive %+v", first)
	}
	if rest := q.Receive(10, 30*time.Second); len(rest) != 1 || rest[0].Body != "3" {
		t.Fatalf("second receive %+v, want only message 3 (1 and 2 are in flight)", rest)
	}
	if n := q.Delete(first[0].Handle); n != 1 {
		t.Fatalf("deleted %d, want 1", n)
	}
	if got := q.Receive(10, 30*time.Second); len(got) != 0 {
		t.Fatalf("in-flight messages delivered before their timeout: %+v", got)
	}
	c.add(31 * time.Second)
	again := q.Receive(10, 30*time.Second)
	if len(again) != 2 || again[0].Body != "2" || again[0].ReceiveCount != 2 {
		t.Fatalf("after the timeout got %+v, want 2 (second receive) and 3", again)
	}
	if n := q.Delete(first[1].Handle); n != 0 {
		t.Fatal("a stale receipt handle deleted a message received again since")
	}
	if n := q.Delete(again[0].Handle, again[1].Handle); n != 2 || q.Len() != 0 {
		t.Fatalf("deleted %d, %d left", n, q.Len())
	}
}

func TestDelayAndRedrive(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	dlq := New("dlq", Options{Now: c.now})
	q := New("q", Options{Now: c.now, DeadLetter: dlq, MaxReceiveCount: 2})
	if err := q.Send(context.Background(), queue.Message{Body: "late", Delay: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := q.Receive(10, time.Second); len(got) != 0 {
		t.Fatal("a delayed message was delivered early")
	}
	for i := 1; i <= 2; i++ {
		c.add(5 * time.Second)
		if got := q.Receive(10, time.Second); len(got) != 1 || got[0].ReceiveCount != i {
			t.Fatalf("receive %d: %+v", i, got)
		}
	}
	c.add(5 * time.Second)
	if got := q.Receive(10, time.Second); len(got) != 0 {
		t.Fatalf("received a third time past maxReceiveCount 2: %+v", got)
	}
	if q.Len() != 0 || dlq.Len() != 1 || dlq.Bodies()[0] != "late" {
		t.Fatalf("queue %d, dead-letter queue %q: want the message moved", q.Len(), dlq.Bodies())
	}
}
