package webhookstest

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/queue"
)

// Event returns a message.created event of conversation conv, seq n,
// keyed by conv as the events function keys it.
func Event(t testing.TB, conv string, n int, at time.Time) events.Event {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"conversation_id": conv, "seq": n, "text": "hi"})
	return events.Event{ID: events.ID(events.MessageCreated, conv, strconv.Itoa(n)), Type: events.MessageCreated,
		Version: events.SchemaVersion, Time: at.UTC().Truncate(time.Millisecond), Data: data, Key: conv}
}

// BusMessage is ev as the bus's rule puts it on WebhookQueue: the
// EventBridge event, its detail the envelope.
func BusMessage(t testing.TB, ev events.Event) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"version": "0", "id": "eb-" + ev.ID, "detail-type": string(ev.Type), "source": events.Source,
		"time": ev.Time.Format(time.RFC3339), "detail": ev})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Drain runs process over q's visible messages, deleting the ones it
// did not report failed, until done() or q is empty for a while; bounded
// by rounds and by limit. It returns how many rounds it ran.
func Drain(t testing.TB, q *memqueue.Queue, process func([]queue.Record) (failed []string), done func() bool, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	rounds := 0
	for ; rounds < 1000 && time.Now().Before(deadline) && !done(); rounds++ {
		got := q.Receive(10, time.Minute)
		if len(got) == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var recs []queue.Record
		for _, m := range got {
			recs = append(recs, m.Record)
		}
		failed := map[string]bool{}
		for _, id := range process(recs) {
			failed[id] = true
		}
		for _, m := range got {
			if !failed[m.ID] {
				q.Delete(m.Handle)
			}
		}
	}
	if !done() {
		t.Fatalf("queue not drained after %d rounds", rounds)
	}
	return rounds
}
