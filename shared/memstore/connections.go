package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/realtime"
)

// MemberIDs returns the current member ids of a group (any order, none if
// the group does not exist). The chat fake's group state provides it;
// Members is a stand-alone one.
type MemberIDs func(gid string) []string

// presenceRec is a user's presence item: connection id -> expiry (epoch
// s), and when the user last left (ms, 0 if never).
type presenceRec struct {
	conns    map[string]int64
	lastSeen int64
}

// Connections is the connections table in memory (realtime.Store); group
// membership is read through members.
type Connections struct {
	members MemberIDs

	mu       sync.Mutex
	conns    map[string]map[string]realtime.Connection // user -> connection id -> record
	presence map[string]*presenceRec
}

var _ realtime.Store = (*Connections)(nil)

// NewConnections returns an empty connections table reading group
// membership through members (nil: no group has members).
func NewConnections(members MemberIDs) *Connections {
	if members == nil {
		members = func(string) []string { return nil }
	}
	return &Connections{members: members, conns: map[string]map[string]realtime.Connection{}, presence: map[string]*presenceRec{}}
}

// PutConnection stores (or replaces) the record and adds it to the user's
// presence item.
func (s *Connections) PutConnection(_ context.Context, c realtime.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c.UserID] == nil {
		s.conns[c.UserID] = map[string]realtime.Connection{}
	}
	s.conns[c.UserID][c.ConnectionID] = c
	p := s.presence[c.UserID]
	if p == nil {
		p = &presenceRec{conns: map[string]int64{}}
		s.presence[c.UserID] = p
	}
	p.conns[c.ConnectionID] = c.ExpiresAt
	return nil
}

// DeleteConnection removes the record and its presence entry and stamps
// last_seen; it never creates a presence item, and a missing record is
// not an error.
func (s *Connections) DeleteConnection(_ context.Context, userID, connID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns[userID], connID)
	if p := s.presence[userID]; p != nil {
		delete(p.conns, connID)
		p.lastSeen = at.UnixMilli()
	}
	return nil
}

// DeleteStaleConnection deletes the record unless it connected at or
// after connectedBefore.
func (s *Connections) DeleteStaleConnection(ctx context.Context, userID, connID string, connectedBefore, at time.Time) (bool, error) {
	s.mu.Lock()
	c, ok := s.conns[userID][connID]
	s.mu.Unlock()
	if ok && c.ConnectedAt >= connectedBefore.UnixMilli() {
		return false, nil
	}
	return true, s.DeleteConnection(ctx, userID, connID, at)
}

// UserConnections lists the user's records whose expiry (epoch s) is
// after now, in connection id order (nil if none).
func (s *Connections) UserConnections(_ context.Context, userID string, now time.Time) ([]realtime.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []realtime.Connection
	for _, c := range s.conns[userID] {
		if c.ExpiresAt > now.Unix() {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ConnectionID < out[j].ConnectionID })
	return out, nil
}

// Presence reads the presence of ids; users without a presence item are
// absent. Conns holds the unexpired connection ids, sorted.
func (s *Connections) Presence(_ context.Context, ids []string, now time.Time) (map[string]realtime.Presence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]realtime.Presence{}
	for _, id := range ids {
		if p := s.presence[id]; p != nil && id != "" {
			out[id] = p.read(id, now)
		}
	}
	return out, nil
}

func (p *presenceRec) read(id string, now time.Time) realtime.Presence {
	out := realtime.Presence{UserID: id}
	for c, exp := range p.conns {
		if exp > now.Unix() {
			out.Conns = append(out.Conns, c)
		}
	}
	slices.Sort(out.Conns)
	if p.lastSeen != 0 {
		out.LastSeen = time.UnixMilli(p.lastSeen).UTC()
	}
	return out
}

// GroupPresence is Presence for those of ids who are members of gid now.
func (s *Connections) GroupPresence(ctx context.Context, gid string, ids []string, now time.Time) (map[string]realtime.Presence, error) {
	member := map[string]bool{}
	for _, id := range s.members(gid) {
		member[id] = true
	}
	all, err := s.Presence(ctx, ids, now)
	if err != nil {
		return nil, err
	}
	for id := range all {
		if !member[id] {
			delete(all, id)
		}
	}
	return all, nil
}

// GroupMemberIDs pages through gid's member ids in id order after after.
// Like a DynamoDB Query, a page that fills the limit has a next id even if
// nothing follows it.
func (s *Connections) GroupMemberIDs(_ context.Context, gid string, limit int, after string) ([]string, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("memstore: group member ids: limit %d, want at least 1", limit)
	}
	ids := slices.Clone(s.members(gid))
	slices.Sort(ids)
	out := make([]string, 0, min(limit, len(ids)))
	for _, id := range ids {
		if after != "" && id <= after {
			continue
		}
		out = append(out, id)
		if len(out) == limit {
			return out, id, nil
		}
	}
	return out, "", nil
}

// Members is a stand-alone group membership for tests of realtime alone;
// its IDs method is a MemberIDs.
type Members struct {
	mu     sync.Mutex
	groups map[string]map[string]bool
}

// Add makes uids members of gid.
func (m *Members) Add(gid string, uids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.groups == nil {
		m.groups = map[string]map[string]bool{}
	}
	if m.groups[gid] == nil {
		m.groups[gid] = map[string]bool{}
	}
	for _, u := range uids {
		m.groups[gid][u] = true
	}
}

// Remove takes uid out of gid.
func (m *Members) Remove(gid, uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.groups[gid], uid)
}

// IDs returns gid's member ids.
func (m *Members) IDs(gid string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.groups[gid]))
	for u := range m.groups[gid] {
		out = append(out, u)
	}
	return out
}
