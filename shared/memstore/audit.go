package memstore

import (
	"context"
	"errors"
	"maps"
	"sort"
	"sync"

	"github.com/tokenim/tokenim/shared/audit"
)

// Audit keeps the audit log in memory (audit.Store): append and list only.
type Audit struct {
	mu      sync.Mutex
	entries map[string]audit.Entry
	order   []string // ids as appended
}

var _ audit.Store = (*Audit)(nil)

// NewAudit returns an empty log.
func NewAudit() *Audit { return &Audit{entries: map[string]audit.Entry{}} }

// Append adds e; an id is never reused.
func (s *Audit) Append(_ context.Context, e audit.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[e.ID]; ok {
		return errors.New("memstore: audit entry id exists")
	}
	e.Changes = maps.Clone(e.Changes)
	s.entries[e.ID] = e
	s.order = append(s.order, e.ID)
	return nil
}

// List returns entries matching q, newest first, and the id to resume
// before ("" at the end).
func (s *Audit) List(_ context.Context, q audit.Query) ([]audit.Entry, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []audit.Entry
	for _, e := range s.entries {
		if q.Matches(e) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > q.Limit {
		return out[:q.Limit], out[q.Limit-1].ID, nil
	}
	return out, "", nil
}

// Entries returns every entry in the order appended (tests count them).
func (s *Audit) Entries() []audit.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]audit.Entry, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.entries[id])
	}
	return out
}
