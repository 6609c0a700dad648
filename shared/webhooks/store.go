package webhooks

// The store port: endpoints and their deliveries. A delivery is one event
// for one endpoint, keyed by the event's time and id, so writing it twice
// (a redelivered queue message) finds the first one: deliveries are
// idempotent per (endpoint, event id). Adapters: shared/aws/dynamo
// (WebhooksTable, docs/data-model.md) and shared/memstore; contract suite
// shared/storetest.WebhooksStore.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tokenim/tokenim/shared/events"
)

// Store errors.
var (
	ErrNotFound = errors.New("webhooks: not found")
	// ErrConflict: a conditional write found another version (or, for a
	// create, an existing item).
	ErrConflict = errors.New("webhooks: conflict")
)

// State is where a delivery stands.
type State string

const (
	// StatePending: an attempt is due at NextAt (a queued task brings it).
	StatePending State = "pending"
	// StateDelivered: an attempt got a 2xx.
	StateDelivered State = "delivered"
	// StateDead: the schedule is spent or the receiver's answer was final;
	// the delivery stays here (the dead-letter store) until retried,
	// replayed or expired.
	StateDead State = "dead"
	// StateSkipped: the endpoint was disabled when the event came (or
	// when its attempt was due); replay it after re-enabling.
	StateSkipped State = "skipped"
)

// Delivery is one event for one endpoint, with every attempt made.
type Delivery struct {
	EndpointID string
	ID         string // DeliveryID(event)
	EventID    string
	Type       events.Type
	EventTime  time.Time
	Body       []byte // the envelope as POSTed
	State      State
	Attempts   []Outcome // oldest first, at most MaxAttemptsKept
	// Round is how many of Attempts came before the current series: a
	// retry or a replay starts the schedule again.
	Round     int
	NextAt    time.Time // when pending: the next attempt's time
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt int64 // Unix seconds: the table's TTL removes it then
	Version   int64
}

// MaxAttemptsKept bounds the attempts a delivery lists (retries and
// replays add series): the oldest are dropped first.
const MaxAttemptsKept = 40

// DeliveryRetention is how long a delivery is kept (TTL): longer than
// MaxReplay, so a replay finds every event of its range.
const DeliveryRetention = 30 * 24 * time.Hour

// DeliveryID is "<13-digit Unix ms of the event>_<event id>": sorted by
// event time, and the same every time the event comes.
func DeliveryID(ev events.Event) string {
	return fmt.Sprintf("%013d_%s", ev.Time.UnixMilli(), ev.ID)
}

var deliveryIDPattern = regexp.MustCompile(`^[0-9]{13}_evt_[0-9a-f]{32}$`)

// ValidDeliveryID reports whether s has DeliveryID's shape.
func ValidDeliveryID(s string) bool { return deliveryIDPattern.MatchString(s) }

// DeliveryQuery selects an endpoint's deliveries by event time.
type DeliveryQuery struct {
	EndpointID string
	From, To   time.Time // [From, To); zero: unbounded
	Ascending  bool      // oldest first (replay); else newest first
	Limit      int
	After      string // a delivery id: resume after it (in the query's order)
}

// Store keeps endpoints and deliveries.
type Store interface {
	// CreateEndpoint writes a new endpoint (ErrConflict if its id exists).
	CreateEndpoint(ctx context.Context, e Endpoint) error
	// GetEndpoint reads one (ErrNotFound).
	GetEndpoint(ctx context.Context, id string) (Endpoint, error)
	// ListEndpoints reads every endpoint, oldest id first.
	ListEndpoints(ctx context.Context) ([]Endpoint, error)
	// UpdateEndpoint replaces e if its stored version is prev
	// (ErrConflict otherwise, ErrNotFound if gone).
	UpdateEndpoint(ctx context.Context, e Endpoint, prev int64) error
	// DeleteEndpoint removes it (ErrNotFound); its deliveries expire.
	DeleteEndpoint(ctx context.Context, id string) error

	// CreateDelivery writes d unless a delivery of the same endpoint and
	// id exists: then it reports created=false and writes nothing.
	CreateDelivery(ctx context.Context, d Delivery) (created bool, err error)
	// GetDelivery reads one, strongly consistent (ErrNotFound).
	GetDelivery(ctx context.Context, endpointID, id string) (Delivery, error)
	// UpdateDelivery replaces d if its stored version is prev (ErrConflict).
	UpdateDelivery(ctx context.Context, d Delivery, prev int64) error
	// ListDeliveries pages an endpoint's deliveries; next is "" at the end.
	ListDeliveries(ctx context.Context, q DeliveryQuery) (ds []Delivery, next string, err error)
}

// DeliveryBounds turns a query's [from, to) into delivery id bounds
// [lo, hi) (zero times: unbounded).
func DeliveryBounds(from, to time.Time) (lo, hi string) {
	lo, hi = "0", "A" // every id is 13 digits and more: "0" <= id < "A"
	if !from.IsZero() {
		lo = fmt.Sprintf("%013d", from.UnixMilli())
	}
	if !to.IsZero() {
		hi = fmt.Sprintf("%013d", to.UnixMilli())
	}
	return lo, hi
}
