package memstore

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tokenim/tokenim/shared/webhooks"
)

// Webhooks keeps webhook endpoints and deliveries in memory
// (webhooks.Store), with the DynamoDB adapter's conditional writes and
// paging.
type Webhooks struct {
	mu         sync.Mutex
	endpoints  map[string]webhooks.Endpoint
	deliveries map[string]map[string]webhooks.Delivery // endpoint id -> delivery id -> delivery
}

var _ webhooks.Store = (*Webhooks)(nil)

// NewWebhooks returns an empty store.
func NewWebhooks() *Webhooks {
	return &Webhooks{endpoints: map[string]webhooks.Endpoint{}, deliveries: map[string]map[string]webhooks.Delivery{}}
}

func copyEndpoint(e webhooks.Endpoint) webhooks.Endpoint {
	e.Types = slices.Clone(e.Types)
	return e
}

func copyDelivery(d webhooks.Delivery) webhooks.Delivery {
	d.Body = slices.Clone(d.Body)
	d.Attempts = slices.Clone(d.Attempts)
	return d
}

// CreateEndpoint implements webhooks.Store.
func (s *Webhooks) CreateEndpoint(_ context.Context, e webhooks.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[e.ID]; ok {
		return webhooks.ErrConflict
	}
	s.endpoints[e.ID] = copyEndpoint(e)
	return nil
}

// GetEndpoint implements webhooks.Store.
func (s *Webhooks) GetEndpoint(_ context.Context, id string) (webhooks.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.endpoints[id]
	if !ok {
		return webhooks.Endpoint{}, webhooks.ErrNotFound
	}
	return copyEndpoint(e), nil
}

// ListEndpoints implements webhooks.Store.
func (s *Webhooks) ListEndpoints(_ context.Context) ([]webhooks.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]webhooks.Endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		out = append(out, copyEndpoint(e))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UpdateEndpoint implements webhooks.Store.
func (s *Webhooks) UpdateEndpoint(_ context.Context, e webhooks.Endpoint, prev int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.endpoints[e.ID]
	if !ok {
		return webhooks.ErrNotFound
	}
	if old.Version != prev {
		return webhooks.ErrConflict
	}
	s.endpoints[e.ID] = copyEndpoint(e)
	return nil
}

// DeleteEndpoint implements webhooks.Store.
func (s *Webhooks) DeleteEndpoint(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[id]; !ok {
		return webhooks.ErrNotFound
	}
	delete(s.endpoints, id)
	return nil
}

// CreateDelivery implements webhooks.Store.
func (s *Webhooks) CreateDelivery(_ context.Context, d webhooks.Delivery) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.deliveries[d.EndpointID]
	if m == nil {
		m = map[string]webhooks.Delivery{}
		s.deliveries[d.EndpointID] = m
	}
	if _, ok := m[d.ID]; ok {
		return false, nil
	}
	m[d.ID] = copyDelivery(d)
	return true, nil
}

// GetDelivery implements webhooks.Store.
func (s *Webhooks) GetDelivery(_ context.Context, endpointID, id string) (webhooks.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[endpointID][id]
	if !ok {
		return webhooks.Delivery{}, webhooks.ErrNotFound
	}
	return copyDelivery(d), nil
}

// UpdateDelivery implements webhooks.Store.
func (s *Webhooks) UpdateDelivery(_ context.Context, d webhooks.Delivery, prev int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.deliveries[d.EndpointID][d.ID]
	if !ok || old.Version != prev {
		return webhooks.ErrConflict
	}
	s.deliveries[d.EndpointID][d.ID] = copyDelivery(d)
	return nil
}

// ListDeliveries implements webhooks.Store.
func (s *Webhooks) ListDeliveries(_ context.Context, q webhooks.DeliveryQuery) ([]webhooks.Delivery, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lo, hi := webhooks.DeliveryBounds(q.From, q.To)
	var out []webhooks.Delivery
	for id, d := range s.deliveries[q.EndpointID] {
		if id < lo || id >= hi {
			continue
		}
		if q.After != "" && (q.Ascending && id <= q.After || !q.Ascending && id >= q.After) {
			continue
		}
		out = append(out, copyDelivery(d))
	}
	sort.Slice(out, func(i, j int) bool { return (strings.Compare(out[i].ID, out[j].ID) < 0) == q.Ascending })
	if len(out) > q.Limit {
		return out[:q.Limit], out[q.Limit-1].ID, nil
	}
	return out, "", nil
}
