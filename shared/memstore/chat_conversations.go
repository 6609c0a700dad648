package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// Conversation heads and users' entries, as shared/aws/dynamo/conversations.go
// stores them.

type metaRec struct {
	kind, a, b, groupID      string
	lastSeq                  int64
	hasSeq                   bool // last_seq is stored (0 counts)
	lastMsgID, lastSender    string
	lastPreview, lastKind    string
	lastAt, lastN, createdAt int64
	closed                   bool
	mutedAll                 bool
	mall                     []int64            // never changed in place (chat_mentions.go)
	pins                     map[int64]chat.Pin // never changed in place (chat_pins.go)
}

func (r metaRec) meta(id chat.ConversationID) chat.ConvMeta {
	kind := r.lastKind
	if kind == "" {
		kind = chat.KindMessage
	}
	return chat.ConvMeta{ID: id, Kind: r.kind, A: r.a, B: r.b, GroupID: r.groupID, LastSeq: r.lastSeq, LastMsgID: r.lastMsgID,
		LastAt: fromMS(r.lastAt), LastSender: r.lastSender, LastPreview: r.lastPreview, LastKind: kind, LastCount: r.lastN,
		Closed: r.closed, MutedAll: r.mutedAll, CreatedAt: fromMS(r.createdAt), MentionAll: sortedSeqs(r.mall),
		Pins: r.pinList()}
}

type entryRec struct {
	kind, peer, groupID string
	readSeq, readN      int64
	joinedAt            int64
	ment                []int64 // never changed in place (chat_mentions.go)
}

func (r entryRec) entry(uid string, conv chat.ConversationID) chat.Entry {
	return chat.Entry{UserID: uid, ConversationID: conv, Kind: r.kind, Peer: r.peer, GroupID: r.groupID, ReadSeq: r.readSeq,
		ReadCount: r.readN, JoinedAt: fromMS(r.joinedAt), Mentions: sortedSeqs(r.ment)}
}

// ReadConversation reads a head and, as asked, a membership, a user's
// existence and users' entries, all at one instant.
func (c *Chat) ReadConversation(_ context.Context, q chat.ConvQuery) (chat.ConvView, error) {
	if hasDuplicate(q.Entries) {
		return chat.ConvView{}, errInvalid("read conversation", "duplicate keys") // as BatchGetItem
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	view := chat.ConvView{Entries: map[string]chat.Entry{}}
	if r, ok := c.metas[q.ID]; ok {
		m := r.meta(q.ID)
		view.Meta = &m
	}
	for _, u := range q.Entries {
		if r, ok := c.entries[u][q.ID]; ok {
			view.Entries[u] = r.entry(u, q.ID)
		}
	}
	if q.MemberOf != "" {
		if r, ok := c.members[q.MemberOf][q.Member]; ok {
			m := r.member(q.MemberOf, q.Member)
			view.Member = &m
		}
	}
	view.UserExists = q.UserExists != "" && c.hasUser(q.UserExists)
	return view, nil
}

// GetConvMetas reads heads; missing ones are absent from the map.
func (c *Chat) GetConvMetas(_ context.Context, ids []chat.ConversationID) (map[chat.ConversationID]chat.ConvMeta, error) {
	return batchGet(c, "get conversations", ids, func(id chat.ConversationID) (chat.ConvMeta, bool) {
		r, ok := c.metas[id]
		return r.meta(id), ok
	})
}

// GetEntries reads entries; missing ones are absent from the map.
func (c *Chat) GetEntries(_ context.Context, keys []chat.EntryKey) (map[chat.EntryKey]chat.Entry, error) {
	return batchGet(c, "get entries", keys, func(k chat.EntryKey) (chat.Entry, bool) {
		r, ok := c.entries[k.UserID][k.ConversationID]
		return r.entry(k.UserID, k.ConversationID), ok
	})
}

// batchGet reads keys under the lock as BatchGetItem does: duplicate keys
// are rejected, missing items are absent from the map.
func batchGet[K comparable, V any](c *Chat, op string, keys []K, get func(K) (V, bool)) (map[K]V, error) {
	if hasDuplicate(keys) {
		return nil, errInvalid(op, "duplicate keys")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[K]V{}
	for _, k := range keys {
		if v, ok := get(k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// ListEntries returns all of uid's entries in conversation id order.
func (c *Chat) ListEntries(_ context.Context, uid string) ([]chat.Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]chat.ConversationID, 0, len(c.entries[uid]))
	for id := range c.entries[uid] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var list []chat.Entry
	for _, id := range ids {
		list = append(list, c.entries[uid][id].entry(uid, id))
	}
	return list, nil
}

// EnsureDMEntries creates or refreshes both participants' DM entries
// (kind and peer), never touching a read position or join time.
func (c *Chat) EnsureDMEntries(_ context.Context, ref chat.ConvRef, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pair := range [][2]string{{ref.A, ref.B}, {ref.B, ref.A}} {
		e, ok := c.entries[pair[0]][ref.ID]
		if !ok {
			e.joinedAt = ms(now)
		}
		e.kind, e.peer = chat.KindDM, pair[1]
		c.entryMap(pair[0])[ref.ID] = e
	}
	return nil
}

// MarkRead raises uid's read position to read (never lowers it) and
// returns the entry as it stands; a missing entry is not_found.
func (c *Chat) MarkRead(_ context.Context, uid string, conv chat.ConversationID, read chat.ReadMark) (chat.Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[uid][conv]
	if !ok {
		return chat.Entry{}, apierror.New(apierror.NotFound, "Conversation %q was not found.", string(conv))
	}
	if e.readSeq < read.Seq {
		e.readSeq, e.readN = read.Seq, max(read.Count, 0)
		e.ment = slices.DeleteFunc(slices.Clone(e.ment), func(s int64) bool { return s <= read.Seq })
		c.entries[uid][conv] = e
	}
	return e.entry(uid, conv), nil
}

func hasDuplicate[T comparable](keys []T) bool {
	seen := make(map[T]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}
