package memstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/users"
)

// userShards matches store.UserShards: the listing order (shard by shard,
// id order within a shard) is part of the observable behaviour.
const userShards = 16

func userShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % userShards)
}

// userRec is a user item as the adapter stores it: times in milliseconds,
// empty strings absent. A put keeps an empty metadata map (it reads back
// empty, not nil); a patch with an empty map removes it (nil).
type userRec struct {
	nickname, avatarURL string
	metadata            map[string]string
	createdAt           int64
	updatedAt           int64
	gen                 int64
	idemKey, jobID      string
	source              string
	upsertKey, upsertFP string
	upsertGen           int64
}

func newUserRec(u users.User) userRec {
	return userRec{nickname: u.Nickname, avatarURL: u.AvatarURL, metadata: maps.Clone(u.Metadata),
		createdAt: u.CreatedAt.UnixMilli(), updatedAt: u.UpdatedAt.UnixMilli(), gen: u.Gen, idemKey: u.IdempotencyKey, source: u.Source}
}

func (r userRec) user(id string) users.User {
	return users.User{UserID: id, Nickname: r.nickname, AvatarURL: r.avatarURL, Metadata: maps.Clone(r.metadata),
		CreatedAt: time.UnixMilli(r.createdAt).UTC(), UpdatedAt: time.UnixMilli(r.updatedAt).UTC(), Gen: r.gen,
		IdempotencyKey: r.idemKey, Source: r.source}
}

// patch applies p as the adapter's profile update does: nil keeps, "" or
// an empty map removes, anything else sets; updated_at always moves.
func (r *userRec) patch(p users.Patch, now time.Time) {
	if p.Nickname != nil {
		r.nickname = *p.Nickname
	}
	if p.AvatarURL != nil {
		r.avatarURL = *p.AvatarURL
	}
	if p.Metadata != nil {
		r.metadata = nil // an empty map removes the attribute
		if len(*p.Metadata) > 0 {
			r.metadata = maps.Clone(*p.Metadata)
		}
	}
	r.updatedAt = now.UnixMilli()
}

type idemRec struct {
	fp      string
	expires int64 // epoch seconds
}

// Users is the users table in memory: users and idempotency keys. It
// implements users.Store and auth.UserGens; Jobs writes users through it.
type Users struct {
	// Now is the clock ClaimIdempotencyKey reads (the adapter reads the
	// wall clock there); nil means time.Now. Set it before first use.
	Now Clock

	mu    sync.Mutex
	users map[string]userRec
	idem  map[string]idemRec
}

var (
	_ users.Store   = (*Users)(nil)
	_ auth.UserGens = (*Users)(nil)
)

// NewUsers returns an empty users table reading time from now (nil:
// time.Now).
func NewUsers(now Clock) *Users {
	return &Users{Now: now, users: map[string]userRec{}, idem: map[string]idemRec{}}
}

// PutUserIfAbsent writes u unless the id exists; then it returns the
// existing user and user_exists.
func (s *Users) PutUserIfAbsent(_ context.Context, u users.User) (*users.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.users[u.UserID]; ok {
		o := old.user(u.UserID)
		return &o, users.Exists(u.UserID)
	}
	s.users[u.UserID] = newUserRec(u)
	return nil, nil
}

// GetUser reads a user; not_found if absent.
func (s *Users) GetUser(_ context.Context, id string) (users.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return users.User{}, users.NotFound(id)
	}
	return r.user(id), nil
}

// UserGen returns the user's generation, 0 if the user does not exist.
func (s *Users) UserGen(_ context.Context, id string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id].gen, nil
}

// UpdateProfile patches an existing user; not_found if absent.
func (s *Users) UpdateProfile(_ context.Context, id string, p users.Patch, now time.Time) (users.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return users.User{}, users.NotFound(id)
	}
	r.patch(p, now)
	s.users[id] = r
	return r.user(id), nil
}

// UpsertUser creates or patches the user. created_at and gen are set only
// when absent; with an idempotency key equal to the last one applied,
// nothing is written and the stored user returns as a replay.
func (s *Users) UpsertUser(_ context.Context, w users.UpsertWrite) (users.Upserted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[w.UserID]
	if ok && w.IdemKey != "" && r.upsertKey == w.IdemKey {
		return users.Upserted{User: r.user(w.UserID), Created: r.upsertGen == r.gen, Replayed: true, Fingerprint: r.upsertFP}, nil
	}
	r.patch(w.Patch, w.Now)
	if !ok {
		r.createdAt = w.Now.UnixMilli()
		r.gen = w.Gen
	}
	if w.IdemKey != "" {
		r.upsertKey, r.upsertFP, r.upsertGen = w.IdemKey, w.Fingerprint, w.Gen
	}
	s.users[w.UserID] = r
	return users.Upserted{User: r.user(w.UserID), Created: r.gen == w.Gen}, nil
}

// DeleteUser removes a user and returns it; not_found if absent.
func (s *Users) DeleteUser(_ context.Context, id string) (users.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return users.User{}, users.NotFound(id)
	}
	delete(s.users, id)
	return r.user(id), nil
}

// ListUsers lists shard by shard, ids in byte order within a shard. The
// page token carries the shard and the last id read. Like a DynamoDB
// Query, a page that fills the limit carries a token even if nothing
// follows it.
func (s *Users) ListUsers(_ context.Context, limit int, page []byte) ([]users.User, []byte, error) {
	if limit < 1 {
		return nil, nil, fmt.Errorf("memstore: list users: limit %d, want at least 1", limit)
	}
	start, err := decodePage(page, userShards)
	if err != nil {
		return nil, nil, err
	}
	shard, after := start.Shard, start.After
	s.mu.Lock()
	defer s.mu.Unlock()
	byShard := make([][]string, userShards)
	for id := range s.users {
		byShard[userShard(id)] = append(byShard[userShard(id)], id)
	}
	var out []users.User
	for ; shard < userShards; shard++ {
		ids := byShard[shard]
		sort.Strings(ids)
		for _, id := range ids {
			if after != "" && id <= after {
				continue
			}
			out = append(out, s.users[id].user(id))
			if len(out) == limit {
				next, err := encodePage(shard, id)
				return out, next, err
			}
		}
		after = ""
	}
	return out, nil, nil
}

// ClaimIdempotencyKey records scope/key -> fp for ttl unless a record that
// has not expired exists; it then returns that record's fingerprint. Expiry
// is in whole seconds and a record expiring this second still counts, as
// the adapter's condition (expires_at < now) has it.
func (s *Users) ClaimIdempotencyKey(_ context.Context, scope, key, fp string, ttl time.Duration) (string, error) {
	now := s.Now.now()
	k := scope + "#" + key
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.idem[k]; ok && r.expires >= now.Unix() {
		return r.fp, nil
	}
	s.idem[k] = idemRec{fp: fp, expires: now.Add(ttl).Unix()}
	return "", nil
}

// createForJob writes u recording jobID unless the id exists; it then
// reports the job that created the existing user.
func (s *Users) createForJob(u users.User, jobID string) (created bool, existingJob string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.users[u.UserID]; ok {
		return false, old.jobID
	}
	r := newUserRec(u)
	r.jobID = jobID
	s.users[u.UserID] = r
	return true, ""
}

// jobsOf returns, for the ids that exist, the job that created each.
func (s *Users) jobsOf(ids []string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]string{}
	for _, id := range ids {
		if r, ok := s.users[id]; ok {
			found[id] = r.jobID
		}
	}
	return found
}
