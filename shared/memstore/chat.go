// Package memstore holds in-memory implementations of the store interfaces
// the use cases declare. Each reproduces the observable behaviour of the
// DynamoDB adapter in shared/aws/dynamo (conditional writes and their errors,
// all-or-nothing transactions, ordering, paging, strongly consistent
// reads), so use-case and handler tests run without an emulator. The
// contract suites in shared/storetest hold both implementations to the
// same behaviour.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
)

// Chat is an in-memory chat.Store. One mutex guards everything, so every
// method is atomic (a transaction is all-or-nothing) and every read sees
// every write before it (DynamoDB's strongly consistent reads). Values are
// stored as the adapter stores them (times in milliseconds, UTC; absent
// attributes as zero values) and copied in and out.
type Chat struct {
	// userExists, when set (NewWorld), answers whether a user exists from
	// the users store, as the DynamoDB adapter reads the users table;
	// otherwise the ids given to AddUsers exist.
	userExists func(id string) bool

	mu       sync.Mutex
	users    map[string]bool
	groups   map[string]groupRec
	members  map[string]map[string]memberRec // group id -> user id
	metas    map[chat.ConversationID]metaRec
	entries  map[string]map[chat.ConversationID]entryRec // user id -> conversation
	messages map[chat.ConversationID]map[int64]msgRec
	claims   map[chat.ConversationID]map[string]claimRec       // claim key
	threads  map[chat.ConversationID]map[int64]map[int64]int64 // root -> reply seq -> created at (ms)
}

// The chat store has no item with a TTL (claims never expire), so Chat
// needs no clock.
var _ chat.Store = (*Chat)(nil)

// NewChat returns an empty store.
func NewChat() *Chat {
	return &Chat{users: map[string]bool{}, groups: map[string]groupRec{}, members: map[string]map[string]memberRec{},
		metas: map[chat.ConversationID]metaRec{}, entries: map[string]map[chat.ConversationID]entryRec{},
		messages: map[chat.ConversationID]map[int64]msgRec{}, claims: map[chat.ConversationID]map[string]claimRec{},
		threads: map[chat.ConversationID]map[int64]map[int64]int64{}}
}

// AddUsers records ids as existing users, for MissingUsers and
// ConvQuery.UserExists (users themselves live in the users store).
func (c *Chat) AddUsers(_ context.Context, ids ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if id == "" {
			return errInvalid("add users", "empty user id")
		}
		c.users[id] = true
	}
	return nil
}

// hasUser reports whether a user exists. Called with c.mu held; the users
// store never calls into Chat, so taking its lock here cannot deadlock.
func (c *Chat) hasUser(id string) bool {
	if c.userExists != nil {
		return c.userExists(id)
	}
	return c.users[id]
}

// MemberIDs lists a group's member ids in order (a memstore.MemberIDs for
// Connections, as the DynamoDB adapter reads members from the groups table).
func (c *Chat) MemberIDs(gid string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.memberIDs(gid)
}

// errInvalid stands for a request DynamoDB rejects as invalid
// (ValidationException): a caller bug, never a condition.
func errInvalid(op, why string) error {
	return fmt.Errorf("memstore: %s: %w: %s", op, ErrInvalidRequest, why)
}

// ErrInvalidRequest is wrapped by errors for requests the DynamoDB adapter
// would have rejected with a ValidationException.
var ErrInvalidRequest = errors.New("invalid request")

func ms(t time.Time) int64     { return t.UnixMilli() }
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// copyMap returns a copy of m; an empty map is absent (nil), as DynamoDB
// omits it.
func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
