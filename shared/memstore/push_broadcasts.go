package memstore

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/push"
)

// Broadcasts keeps broadcast jobs and users' notifications in memory
// (push.BroadcastStore), as dynamo.Push keeps them in the users table.
type Broadcasts struct {
	mu      sync.Mutex
	jobs    map[string]push.Broadcast
	idem    map[string][2]string // key -> id, fingerprint
	quota   map[string]int
	plans   map[string]bool
	chunks  map[string]bool
	inboxes map[string]map[string]push.InboxItem // user -> id -> item
	Now     Clock
}

var _ push.BroadcastStore = (*Broadcasts)(nil)

// NewBroadcasts returns an empty store.
func NewBroadcasts() *Broadcasts {
	return &Broadcasts{jobs: map[string]push.Broadcast{}, idem: map[string][2]string{}, quota: map[string]int{},
		plans: map[string]bool{}, chunks: map[string]bool{}, inboxes: map[string]map[string]push.InboxItem{}}
}

func copyBroadcast(b push.Broadcast) push.Broadcast {
	b.Data = maps.Clone(b.Data)
	b.Audience.UserIDs = slices.Clone(b.Audience.UserIDs)
	return b
}

// CreateBroadcast implements push.BroadcastStore.
func (s *Broadcasts) CreateBroadcast(_ context.Context, b push.Broadcast, key, fp string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if old, ok := s.idem[key]; ok {
			return old[0], old[1], nil
		}
		s.idem[key] = [2]string{b.ID, fp}
	}
	s.jobs[b.ID] = copyBroadcast(b)
	return "", "", nil
}

// ConsumeQuota implements push.BroadcastStore.
func (s *Broadcasts) ConsumeQuota(_ context.Context, day string, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota[day] >= max {
		return push.QuotaError(max)
	}
	s.quota[day]++
	return nil
}

// GetBroadcast implements push.BroadcastStore.
func (s *Broadcasts) GetBroadcast(_ context.Context, id string) (push.Broadcast, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.jobs[id]
	if !ok {
		return push.Broadcast{}, apierror.New(apierror.NotFound, "Notification %q was not found.", id)
	}
	return copyBroadcast(b), nil
}

// RecordPlan implements push.BroadcastStore.
func (s *Broadcasts) RecordPlan(_ context.Context, id string, page, chunks int, last bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := id + "#" + strconv.Itoa(page)
	if s.plans[k] {
		return nil
	}
	s.plans[k] = true
	b := s.jobs[id]
	b.ChunksTotal += int64(chunks)
	b.Planned = b.Planned || last
	s.jobs[id] = b
	return nil
}

// ClaimRecipient implements push.BroadcastStore.
func (s *Broadcasts) ClaimRecipient(_ context.Context, n push.InboxItem, _ time.Duration) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.inboxes[n.UserID][n.ID]; ok {
		return old.Outcome, true, nil
	}
	if s.inboxes[n.UserID] == nil {
		s.inboxes[n.UserID] = map[string]push.InboxItem{}
	}
	n.Data, n.Outcome = maps.Clone(n.Data), ""
	s.inboxes[n.UserID][n.ID] = n
	return "", false, nil
}

// SetOutcome implements push.BroadcastStore.
func (s *Broadcasts) SetOutcome(_ context.Context, userID, id, outcome string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.inboxes[userID][id]; ok {
		n.Outcome = outcome
		s.inboxes[userID][id] = n
	}
	return nil
}

// RecordChunk implements push.BroadcastStore.
func (s *Broadcasts) RecordChunk(_ context.Context, id, chunk string, c push.Counts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := id + "#" + chunk
	if s.chunks[k] {
		return nil
	}
	s.chunks[k] = true
	b := s.jobs[id]
	b.ChunksDone++
	b.Counts.Targeted += c.Targeted
	b.Counts.DeliveredLive += c.DeliveredLive
	b.Counts.Pushed += c.Pushed
	b.Counts.NoDevice += c.NoDevice
	b.Counts.Suppressed += c.Suppressed
	b.Counts.Failed += c.Failed
	s.jobs[id] = b
	return nil
}

// ListInbox implements push.BroadcastStore: newest first, the page token
// is the last id returned.
func (s *Broadcasts) ListInbox(_ context.Context, userID string, limit int, page []byte) ([]push.InboxItem, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.inboxes[userID]))
	slices.Reverse(ids)
	after := string(page)
	var out []push.InboxItem
	for _, id := range ids {
		if after != "" && strings.Compare(id, after) >= 0 {
			continue
		}
		if len(out) == limit {
			return out, []byte(out[len(out)-1].ID), nil
		}
		n := s.inboxes[userID][id]
		n.Data = maps.Clone(n.Data)
		if n.ReadAt != nil {
			t := *n.ReadAt
			n.ReadAt = &t
		}
		out = append(out, n)
	}
	return out, nil, nil
}

// UnreadIDs implements push.BroadcastStore.
func (s *Broadcasts) UnreadIDs(_ context.Context, userID, upTo string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.inboxes[userID]))
	slices.Reverse(ids)
	out := []string{}
	for _, id := range ids {
		if s.inboxes[userID][id].ReadAt == nil && (upTo == "" || id <= upTo) {
			out = append(out, id)
		}
	}
	return out, nil
}

// MarkRead implements push.BroadcastStore.
func (s *Broadcasts) MarkRead(_ context.Context, userID string, ids []string, at time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		it, ok := s.inboxes[userID][id]
		if !ok || it.ReadAt != nil {
			continue
		}
		t := at
		it.ReadAt = &t
		s.inboxes[userID][id] = it
		n++
	}
	return n, nil
}

// BroadcastKey implements push.BroadcastStore.
func (s *Broadcasts) BroadcastKey(_ context.Context, key string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.idem[key]
	return old[0], old[1], nil
}

var _ push.UserDataStore = (*Broadcasts)(nil)

// DeleteUserData implements push.UserDataStore: the user's notifications.
func (s *Broadcasts) DeleteUserData(_ context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.inboxes[userID])
	delete(s.inboxes, userID)
	return n, nil
}
