package webhooks

// The admin use cases behind /v1/webhooks (functions/webhooks): register,
// read, change, rotate and delete endpoints; list, retry and replay their
// deliveries. Bad input is refused with a documented code before anything
// is written (docs/errors.md). Retries and replays go through the
// delivery queue (WebhookQueue): the worker makes the attempts.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
)

// MaxEndpoints is the documented limit of endpoints per app (every event
// costs one delivery per subscribed endpoint).
const MaxEndpoints = 20

// MaxDescription bounds an endpoint's description, in characters.
const MaxDescription = 256

// MaxReplayDeliveries is the most deliveries one replay call re-sends;
// a larger range answers next_from, to call again from there.
const MaxReplayDeliveries = 500

// Deliveries pages: the default and largest page.
const (
	DefaultDeliveriesPage = 20
	MaxDeliveriesPage     = 100
)

// Service is the admin use cases.
type Service struct {
	store  Store
	policy Policy
	tasks  queue.BatchSender // WebhookQueue: retries and replays
	now    func() time.Time
}

// NewService returns the use cases over store. tasks receives the
// attempts a retry or a replay asks for; now nil is time.Now.
func NewService(store Store, policy Policy, tasks queue.BatchSender, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, policy: policy, tasks: tasks, now: now}
}

// CreateInput is a new endpoint.
type CreateInput struct {
	URL         string
	Types       []string
	Secret      string // "": generated
	Description string
}

// UpdateInput changes an endpoint; nil fields are kept.
type UpdateInput struct {
	URL         *string
	Types       *[]string
	Enabled     *bool
	Description *string
}

var endpointIDPattern = regexp.MustCompile(`^wh_[0-9a-f]{20}$`)

func newEndpointID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "wh_" + hex.EncodeToString(b), nil
}

// Create registers an endpoint and returns it with its secret (shown
// once: reads never return it).
func (s *Service) Create(ctx context.Context, in CreateInput) (Endpoint, string, error) {
	if in.URL == "" {
		return Endpoint{}, "", required("url")
	}
	if err := s.checkURL(ctx, in.URL); err != nil {
		return Endpoint{}, "", err
	}
	types, err := checkTypes(in.Types)
	if err != nil {
		return Endpoint{}, "", err
	}
	if err := checkDescription(in.Description); err != nil {
		return Endpoint{}, "", err
	}
	secret := in.Secret
	if secret == "" {
		if secret, err = NewSecret(); err != nil {
			return Endpoint{}, "", err
		}
	} else if err := CheckSecret(secret); err != nil {
		return Endpoint{}, "", apierror.New(apierror.InvalidSecret, "secret must be %s followed by the base64 of %d to %d bytes.", SecretPrefix, minSecretBytes, maxSecretBytes)
	}
	existing, err := s.store.ListEndpoints(ctx)
	if err != nil {
		return Endpoint{}, "", err
	}
	if len(existing) >= MaxEndpoints {
		return Endpoint{}, "", apierror.New(apierror.WebhookLimit, "An app has at most %d webhook endpoints; delete one first.", MaxEndpoints).
			WithDetails(map[string]int{"limit": MaxEndpoints})
	}
	id, err := newEndpointID()
	if err != nil {
		return Endpoint{}, "", err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	e := Endpoint{ID: id, URL: in.URL, Types: types, Keys: Keys{Current: secret}, Description: in.Description,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, "", err
	}
	return e, secret, nil
}

// List returns every endpoint.
func (s *Service) List(ctx context.Context) ([]Endpoint, error) { return s.store.ListEndpoints(ctx) }

// Get returns one endpoint (not_found).
func (s *Service) Get(ctx context.Context, id string) (Endpoint, error) {
	if !endpointIDPattern.MatchString(id) {
		return Endpoint{}, notFound(id)
	}
	e, err := s.store.GetEndpoint(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Endpoint{}, notFound(id)
	}
	return e, err
}

// Update changes url, types, description or enabled. Re-enabling
// resets the dead streak; disabling stops attempts (events keep being
// recorded, as skipped deliveries, for a replay).
func (s *Service) Update(ctx context.Context, id string, in UpdateInput) (Endpoint, error) {
	var types []events.Type
	if in.URL != nil {
		if err := s.checkURL(ctx, *in.URL); err != nil {
			return Endpoint{}, err
		}
	}
	if in.Types != nil {
		var err error
		if types, err = checkTypes(*in.Types); err != nil {
			return Endpoint{}, err
		}
	}
	if in.Description != nil {
		if err := checkDescription(*in.Description); err != nil {
			return Endpoint{}, err
		}
	}
	return s.change(ctx, id, func(e *Endpoint) {
		if in.URL != nil {
			e.URL = *in.URL
		}
		if in.Types != nil {
			e.Types = types
		}
		if in.Description != nil {
			e.Description = *in.Description
		}
		if in.Enabled != nil {
			if *in.Enabled {
				e.Enable()
			} else {
				e.Disabled = true
			}
		}
	})
}

// Rotate makes a new current secret (next, or a generated one) and
// keeps the old one signing for RotationOverlap. It returns the new one.
func (s *Service) Rotate(ctx context.Context, id, next string) (Endpoint, string, error) {
	if next == "" {
		var err error
		if next, err = NewSecret(); err != nil {
			return Endpoint{}, "", err
		}
	} else if err := CheckSecret(next); err != nil {
		return Endpoint{}, "", apierror.New(apierror.InvalidSecret, "secret must be %s followed by the base64 of %d to %d bytes.", SecretPrefix, minSecretBytes, maxSecretBytes)
	}
	e, err := s.change(ctx, id, func(e *Endpoint) { e.Keys = e.Keys.Rotate(next, s.now()) })
	return e, next, err
}

// Delete removes an endpoint; its deliveries expire with the table's TTL
// and queued attempts for it end on their own.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !endpointIDPattern.MatchString(id) {
		return notFound(id)
	}
	err := s.store.DeleteEndpoint(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return notFound(id)
	}
	return err
}

// change applies f to the stored endpoint, retrying when a worker wrote
// it between the read and the write.
func (s *Service) change(ctx context.Context, id string, f func(*Endpoint)) (Endpoint, error) {
	for range 5 {
		e, err := s.Get(ctx, id)
		if err != nil {
			return Endpoint{}, err
		}
		prev := e.Version
		f(&e)
		e.Version++
		e.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		switch err := s.store.UpdateEndpoint(ctx, e, prev); {
		case err == nil:
			return e, nil
		case errors.Is(err, ErrNotFound):
			return Endpoint{}, notFound(id)
		case !errors.Is(err, ErrConflict):
			return Endpoint{}, err
		}
	}
	return Endpoint{}, apierror.New(apierror.Conflict, "The webhook endpoint changed concurrently; retry.")
}

// Deliveries pages an endpoint's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, id string, limit int, cursor string) ([]Delivery, string, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultDeliveriesPage
	}
	if limit > MaxDeliveriesPage {
		return nil, "", apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxDeliveriesPage)
	}
	if cursor != "" && !ValidDeliveryID(cursor) {
		return nil, "", apierror.New(apierror.InvalidCursor, "The cursor is not one this endpoint returned.")
	}
	return s.store.ListDeliveries(ctx, DeliveryQuery{EndpointID: id, Limit: limit, After: cursor})
}

// Retry re-sends one delivery that is not pending: a new series of
// attempts on the schedule, starting now.
func (s *Service) Retry(ctx context.Context, id, deliveryID string) (Delivery, error) {
	e, err := s.Get(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	if e.Disabled {
		return Delivery{}, disabled(id)
	}
	if !ValidDeliveryID(deliveryID) {
		return Delivery{}, apierror.New(apierror.NotFound, "Delivery %q was not found.", deliveryID)
	}
	d, err := s.store.GetDelivery(ctx, id, deliveryID)
	if errors.Is(err, ErrNotFound) {
		return Delivery{}, apierror.New(apierror.NotFound, "Delivery %q was not found.", deliveryID)
	}
	if err != nil {
		return Delivery{}, err
	}
	if d.State == StatePending {
		return Delivery{}, apierror.New(apierror.Conflict, "Delivery %q is already pending: its next attempt is at %s.", deliveryID, d.NextAt.Format(time.RFC3339))
	}
	prev := d.Version
	s.restart(&d)
	if err := s.store.UpdateDelivery(ctx, d, prev); err != nil {
		if errors.Is(err, ErrConflict) {
			return Delivery{}, apierror.New(apierror.Conflict, "The delivery changed concurrently; retry.")
		}
		return Delivery{}, err
	}
	if err := s.enqueue(ctx, []Delivery{d}); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	Replayed int
	// NextFrom is set when the range held more than MaxReplayDeliveries:
	// call again with from = NextFrom.
	NextFrom time.Time
}

// Replay re-sends, in event-time order, the endpoint's deliveries of
// events in [from, to) that it still wants and that are not pending,
// with their original ids (receivers deduplicate by webhook-id).
func (s *Service) Replay(ctx context.Context, id string, from, to time.Time) (ReplayResult, error) {
	e, err := s.Get(ctx, id)
	if err != nil {
		return ReplayResult{}, err
	}
	// Events keep milliseconds (DeliveryID): so does the range.
	from, to = from.Truncate(time.Millisecond), to.Truncate(time.Millisecond)
	if _, err := e.Replay(nil, from, to); err != nil {
		return ReplayResult{}, apierror.New(apierror.InvalidReplayRange, "from must be before to, at most %d days apart.", int(MaxReplay.Hours()/24))
	}
	if e.Disabled {
		return ReplayResult{}, disabled(id)
	}
	ds, next, err := s.store.ListDeliveries(ctx, DeliveryQuery{EndpointID: id, From: from, To: to, Ascending: true, Limit: MaxReplayDeliveries})
	if err != nil {
		return ReplayResult{}, err
	}
	// The domain's selection: wanted types, in time order.
	evs := make([]events.Event, len(ds))
	byID := make(map[string]Delivery, len(ds))
	for i, d := range ds {
		evs[i] = events.Event{ID: d.EventID, Type: d.Type, Time: d.EventTime}
		byID[d.EventID] = d
	}
	wanted, _ := e.Replay(evs, from, to)
	var res ReplayResult
	var sent []Delivery
	for _, ev := range wanted {
		d := byID[ev.ID]
		if d.State == StatePending {
			continue
		}
		prev := d.Version
		s.restart(&d)
		if err := s.store.UpdateDelivery(ctx, d, prev); errors.Is(err, ErrConflict) {
			continue // a worker or another replay got it: it is on its way
		} else if err != nil {
			return res, err
		}
		sent = append(sent, d)
	}
	if err := s.enqueue(ctx, sent); err != nil {
		return res, err
	}
	res.Replayed = len(sent)
	if next != "" && len(ds) > 0 {
		res.NextFrom = ds[len(ds)-1].EventTime.Add(time.Millisecond)
	}
	return res, nil
}

// restart makes d pending with a new series of attempts due now.
func (s *Service) restart(d *Delivery) {
	now := s.now().UTC()
	d.State, d.Round, d.NextAt, d.UpdatedAt = StatePending, len(d.Attempts), now, now
	d.Version++
}

// enqueue queues one attempt task per delivery, due at once.
func (s *Service) enqueue(ctx context.Context, ds []Delivery) error {
	for batch := range slices.Chunk(ds, queue.MaxBatch) {
		msgs := make([]queue.Message, len(batch))
		for i, d := range batch {
			msgs[i] = queue.Message{Body: TaskBody(d.EndpointID, d.ID)}
		}
		refused, err := s.tasks.SendBatch(ctx, msgs)
		if err != nil {
			return err
		}
		if len(refused) > 0 {
			return fmt.Errorf("webhooks: the queue refused %d of %d attempts (%s)", len(refused), len(msgs), refused[0].Code)
		}
	}
	return nil
}

// checkURL applies the target policy; the reason is the URLError's.
func (s *Service) checkURL(ctx context.Context, raw string) error {
	err := s.policy.CheckURL(ctx, raw)
	if err == nil {
		return nil
	}
	reason := "syntax"
	for r, target := range map[string]error{"too_long": ErrURLTooLong, "scheme": ErrURLScheme, "address": ErrURLAddress, "resolve": ErrURLResolve} {
		if errors.Is(err, target) {
			reason = r
		}
	}
	msg := map[string]string{
		"syntax":   "url must be an absolute URL without credentials or fragment.",
		"too_long": fmt.Sprintf("url must be at most %d characters.", MaxURL),
		"scheme":   "url must be https.",
		"address":  "url must not resolve to a loopback, private, link-local, metadata or reserved address.",
		"resolve":  "url's host does not resolve.",
	}[reason]
	return apierror.New(apierror.InvalidWebhookURL, "%s", msg).WithDetails(map[string]string{"field": "url", "reason": reason})
}

// checkTypes validates a subscription list (nil or empty: every type).
func checkTypes(names []string) ([]events.Type, error) {
	ts := make([]events.Type, len(names))
	for i, n := range names {
		ts[i] = events.Type(n)
	}
	if err := CheckTypes(ts); err != nil {
		var offender string
		for i, t := range ts {
			if !events.Known(t) || slices.Contains(ts[:i], t) {
				offender = string(t)
				break
			}
		}
		if len(offender) > 64 {
			offender = offender[:64]
		}
		return nil, apierror.New(apierror.UnknownEventType, "types must list known event types, each once, at most %d (docs/events.md).", MaxTypes).
			WithDetails(map[string]string{"field": "types", "type": offender})
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return ts, nil
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescription || !utf8.ValidString(d) {
		return apierror.New(apierror.ValidationFailed, "description must be at most %d characters.", MaxDescription).
			WithDetails(map[string]string{"field": "description"})
	}
	return nil
}

func required(field string) error {
	return apierror.New(apierror.ValidationFailed, "%s is required.", field).WithDetails(map[string]string{"field": field})
}

func notFound(id string) error {
	if len(id) > 64 {
		id = id[:64]
	}
	return apierror.New(apierror.NotFound, "Webhook endpoint %q was not found.", id)
}

func disabled(id string) error {
	return apierror.New(apierror.Conflict, "Webhook endpoint %q is disabled: re-enable it first (PATCH with enabled=true).", id)
}
