package webhooks

// Routing events to the webhook endpoints (the events function, beside
// the bus). For each event, every endpoint that wants its type gets one
// message on the ordered delivery queue (WebhookEventQueue, SQS FIFO):
// message group "<endpoint id>#<event key>", so one endpoint's events
// of one conversation (group, user, job) are delivered one after another
// in the order they happened, and deduplication id "<endpoint id>#<event
// id>", so a stream batch routed again (a retry) adds nothing within
// SQS's 5-minute window (and the delivery record's conditional write
// catches the rest). With no endpoint registered nothing is sent: the
// endpoint list is read at most once per RouterTTL per sandbox.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
)

// RouterTTL is how long a sandbox of the events function uses the
// endpoint list it read: an endpoint created, changed or deleted is
// seen by routing at most this much later (docs/events.md, "Webhooks").
const RouterTTL = 10 * time.Second

// maxBatchBytes is SQS's limit on one SendMessageBatch (256 KiB), less a
// margin for the entries' other fields.
const maxBatchBytes = 250 << 10

// eventMessage is a WebhookEventQueue message's body: one event for one
// endpoint (never its secret: the worker reads the endpoint).
type eventMessage struct {
	Event *struct {
		EndpointID string          `json:"endpoint_id"`
		Event      json.RawMessage `json:"event"`
	} `json:"webhook_event"`
}

// EventBody is the WebhookEventQueue message asking to deliver ev (its
// envelope) to one endpoint.
func EventBody(endpointID string, envelope []byte) string {
	b, _ := json.Marshal(map[string]map[string]any{"webhook_event": {"endpoint_id": endpointID, "event": json.RawMessage(envelope)}})
	return string(b)
}

// MessageGroup is the FIFO group of ev's deliveries to an endpoint: the
// endpoint and the event's key (hashed when it is long or has characters
// SQS refuses in a group id).
func MessageGroup(endpointID string, ev events.Event) string {
	key := ev.Key
	if key == "" {
		key = ev.ID // no order to keep
	}
	if len(key) > 90 || !groupSafe(key) {
		h := sha256.Sum256([]byte(key))
		key = "h" + hex.EncodeToString(h[:16])
	}
	return endpointID + "#" + key
}

// groupSafe: SQS takes letters, digits and ASCII punctuation.
func groupSafe(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Router sends events to the ordered delivery queue.
type Router struct {
	Store Store
	Queue queue.BatchSender // WebhookEventQueue
	TTL   time.Duration     // 0: RouterTTL
	Now   func() time.Time  // nil: time.Now

	mu      sync.Mutex
	eps     []Endpoint
	readAt  time.Time
	hasRead bool
}

func (r *Router) endpoints(ctx context.Context) ([]Endpoint, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = RouterTTL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hasRead && now().Sub(r.readAt) < ttl {
		return r.eps, nil
	}
	eps, err := r.Store.ListEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	r.eps, r.readAt, r.hasRead = eps, now(), true
	return eps, nil
}

// Route queues one message per (endpoint that wants it, event), in the
// events' order. A call carries at most one message per group, and the
// next of a group goes only after the one before it was taken, so a
// refused entry cannot be overtaken. On an error some may have been
// queued: routing the same events again is safe (deduplication ids).
func (r *Router) Route(ctx context.Context, evs []events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	eps, err := r.endpoints(ctx)
	if err != nil {
		return fmt.Errorf("webhooks: route: %w", err)
	}
	var msgs []queue.Message
	for _, ev := range evs {
		var envelope []byte
		for _, ep := range eps {
			if !ep.Wants(ev.Type) {
				continue // a disabled endpoint still gets its events, as skipped deliveries
			}
			if envelope == nil {
				if envelope, err = json.Marshal(ev); err != nil {
					return err
				}
			}
			msgs = append(msgs, queue.Message{Body: EventBody(ep.ID, envelope), Group: MessageGroup(ep.ID, ev), DedupID: ep.ID + "#" + ev.ID})
		}
	}
	for len(msgs) > 0 {
		call, rest := nextSend(msgs)
		refused, err := r.Queue.SendBatch(ctx, call)
		if err != nil {
			return fmt.Errorf("webhooks: route: %w", err)
		}
		if len(refused) > 0 {
			return fmt.Errorf("webhooks: route: the queue refused %d of %d messages (%s)", len(refused), len(call), refused[0].Code)
		}
		msgs = rest
	}
	return nil
}

// nextSend takes up to queue.MaxBatch messages (and maxBatchBytes), the
// first of each group among the pending ones; the rest keep their order.
func nextSend(pending []queue.Message) (call, rest []queue.Message) {
	seen := map[string]bool{}
	size := 0
	for _, m := range pending {
		if len(call) < queue.MaxBatch && !seen[m.Group] && (len(call) == 0 || size+len(m.Body) <= maxBatchBytes) {
			size += len(m.Body)
			call = append(call, m)
		} else {
			rest = append(rest, m)
		}
		seen[m.Group] = true
	}
	return call, rest
}

// errNotEvent: a WebhookEventQueue message that is not one.
var errNotEvent = errors.New("webhooks: not an event message")
