package memstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/moderation"
)

// Moderation keeps bans, roles, blocklists, the word filter, reports and
// app roles in memory (moderation.Store). Bans and roles belong to the
// user's incarnation, as the adapter's attributes on the user item do: a
// deleted and re-created user starts clean.
type Moderation struct {
	users *Users

	mu      sync.Mutex
	bans    map[string]genBan
	roles   map[string]genRole
	blocks  map[string]map[string]int64
	words   moderation.WordFilter
	reports map[string]moderation.Report
	appRole map[string][]string
}

type genBan struct {
	gen int64
	ban auth.Ban
}

type genRole struct {
	gen  int64
	role string
}

var _ moderation.Store = (*Moderation)(nil)

// NewModeration returns an empty store over users (whose generations
// decide which bans and roles still apply).
func NewModeration(users *Users) *Moderation {
	return &Moderation{users: users, bans: map[string]genBan{}, roles: map[string]genRole{},
		blocks: map[string]map[string]int64{}, reports: map[string]moderation.Report{}, appRole: map[string][]string{}}
}

// UserStatus reads gen, role and ban.
func (s *Moderation) UserStatus(ctx context.Context, userID string) (auth.UserStatus, error) {
	gen, err := s.users.UserGen(ctx, userID)
	if err != nil || gen == 0 {
		return auth.UserStatus{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := auth.UserStatus{Gen: gen}
	if r, ok := s.roles[userID]; ok && r.gen == gen {
		st.Role = r.role
	}
	if b, ok := s.bans[userID]; ok && b.gen == gen {
		ban := b.ban
		st.Ban = &ban
	}
	return st, nil
}

// SetBan bans an existing user.
func (s *Moderation) SetBan(ctx context.Context, userID string, b auth.Ban) (bool, error) {
	gen, err := s.users.UserGen(ctx, userID)
	if err != nil || gen == 0 {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bans[userID] = genBan{gen: gen, ban: b}
	return true, nil
}

// ClearBan lifts a ban.
func (s *Moderation) ClearBan(ctx context.Context, userID string) (bool, error) {
	gen, err := s.users.UserGen(ctx, userID)
	if err != nil || gen == 0 {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bans, userID)
	return true, nil
}

// SetRole sets a user's role ("" clears it).
func (s *Moderation) SetRole(ctx context.Context, userID, role string) (bool, error) {
	gen, err := s.users.UserGen(ctx, userID)
	if err != nil || gen == 0 {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if role == "" {
		delete(s.roles, userID)
	} else {
		s.roles[userID] = genRole{gen: gen, role: role}
	}
	return true, nil
}

// PutBlock adds (or keeps) an entry.
func (s *Moderation) PutBlock(_ context.Context, b moderation.Block) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocks[b.UserID] == nil {
		s.blocks[b.UserID] = map[string]int64{}
	}
	s.blocks[b.UserID][b.BlockedID] = b.At
	return nil
}

// DeleteBlock removes an entry.
func (s *Moderation) DeleteBlock(_ context.Context, userID, blockedID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blocks[userID][blockedID]
	delete(s.blocks[userID], blockedID)
	return ok, nil
}

// ListBlocks lists in blocked-id order.
func (s *Moderation) ListBlocks(_ context.Context, userID, after string, limit int) ([]moderation.Block, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := keysAfter(s.blocks[userID], after, limit)
	out := make([]moderation.Block, 0, len(ids))
	for _, id := range ids {
		out = append(out, moderation.Block{UserID: userID, BlockedID: id, At: s.blocks[userID][id]})
	}
	return out, more, nil
}

// IsBlocked reports whether userID blocked otherID.
func (s *Moderation) IsBlocked(_ context.Context, userID, otherID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blocks[userID][otherID]
	return ok, nil
}

// BlockersOf returns those of recipients who blocked sender.
func (s *Moderation) BlockersOf(_ context.Context, sender string, recipients []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range recipients {
		if _, ok := s.blocks[r][sender]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// GetWordFilter returns the filter (zero if never set).
func (s *Moderation) GetWordFilter(context.Context) (moderation.WordFilter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.words
	f.Words = slices.Clone(f.Words)
	return f, nil
}

// PutWordFilter replaces the filter.
func (s *Moderation) PutWordFilter(_ context.Context, f moderation.WordFilter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Words = slices.Clone(f.Words)
	s.words = f
	return nil
}

// PutReport stores a new report.
func (s *Moderation) PutReport(_ context.Context, r moderation.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.reports[r.ReportID]; ok {
		return errors.New("memstore: put report: id exists")
	}
	s.reports[r.ReportID] = r
	return nil
}

// GetReport returns a report or nil.
func (s *Moderation) GetReport(_ context.Context, id string) (*moderation.Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reports[id]
	if !ok {
		return nil, nil
	}
	return &r, nil
}

// ListReports lists newest (highest id) first.
func (s *Moderation) ListReports(_ context.Context, status, before string, limit int) ([]moderation.Report, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, r := range s.reports {
		if (before == "" || id < before) && (status == "" || r.Status == status) {
			ids = append(ids, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	out := make([]moderation.Report, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.reports[id])
	}
	return out, more, nil
}

// ResolveReport resolves an open report.
func (s *Moderation) ResolveReport(_ context.Context, id, by, resolution string, at int64) (*moderation.Report, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reports[id]
	if !ok {
		return nil, false, nil
	}
	if r.Status != moderation.ReportOpen {
		return &r, false, nil
	}
	r.Status, r.ResolvedBy, r.Resolution, r.ResolvedAt = moderation.ReportResolved, by, resolution, at
	s.reports[id] = r
	return &r, true, nil
}

// GetRoles returns the app-defined roles.
func (s *Moderation) GetRoles(context.Context) (map[string][]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.appRole))
	for k, v := range s.appRole {
		out[k] = slices.Clone(v)
	}
	return out, nil
}

// PutRole sets or removes an app-defined role, within max roles.
func (s *Moderation) PutRole(_ context.Context, name string, grants []string, max int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if grants == nil {
		delete(s.appRole, name)
		return true, nil
	}
	if _, ok := s.appRole[name]; !ok && len(s.appRole) >= max {
		return false, nil
	}
	next := maps.Clone(s.appRole)
	next[name] = slices.Clone(grants)
	s.appRole = next
	return true, nil
}
