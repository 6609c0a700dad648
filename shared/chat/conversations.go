package chat

import (
	"context"
	"sort"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// LastMessage is the preview of a conversation's newest message. When
// that is a recall or edit event (Kind), it has no preview: clients show
// e.g. "Alice recalled a message" (the event's text could otherwise linger
// here after the edited message is recalled).
type LastMessage struct {
	Seq       int64     `json:"seq"`
	MessageID string    `json:"message_id"`
	Kind      string    `json:"kind"`
	SenderID  string    `json:"sender_id,omitempty"`
	Preview   string    `json:"preview,omitempty"`
	At        time.Time `json:"at"`
}

// Conversation is a conversation as one user sees it.
type Conversation struct {
	ConversationID ConversationID `json:"conversation_id"`
	Kind           string         `json:"kind"`
	PeerID         string         `json:"peer_id,omitempty"`  // DM
	GroupID        string         `json:"group_id,omitempty"` // group
	LastSeq        int64          `json:"last_seq"`
	LastMessage    *LastMessage   `json:"last_message,omitempty"`
	LastActivityAt time.Time      `json:"last_activity_at"`
	// ReadSeq and UnreadCount are the reader's; absent for an admin token
	// reading without user_id.
	ReadSeq     *int64 `json:"read_seq,omitempty"`
	UnreadCount *int64 `json:"unread_count,omitempty"`
	// PeerReadSeq is how far the other participant of a DM has read (read
	// receipts).
	PeerReadSeq *int64 `json:"peer_read_seq,omitempty"`
	// UnreadMentions counts the unread messages mentioning the reader (by
	// id or @all), FirstUnreadMention is the first one's seq; the reader's
	// only, like ReadSeq.
	UnreadMentions     *int64 `json:"unread_mentions,omitempty"`
	FirstUnreadMention *int64 `json:"first_unread_mention_seq,omitempty"`
	// Pinned are the conversation's pinned messages, newest pin first.
	Pinned []Pin `json:"pinned,omitempty"`
}

func summary(meta ConvMeta, me *Entry, peer *Entry, peerID string) Conversation {
	c := Conversation{ConversationID: meta.ID, Kind: meta.Kind, GroupID: meta.GroupID, LastSeq: meta.LastSeq,
		LastActivityAt: meta.CreatedAt, PeerID: peerID, Pinned: meta.Pins}
	if meta.LastSeq > 0 {
		c.LastActivityAt = meta.LastAt
		c.LastMessage = &LastMessage{Seq: meta.LastSeq, MessageID: meta.LastMsgID, Kind: meta.LastKind, SenderID: meta.LastSender,
			Preview: meta.LastPreview, At: meta.LastAt}
	}
	if me != nil {
		read, n := min(me.ReadSeq, meta.LastSeq), unread(meta, *me)
		c.ReadSeq, c.UnreadCount = &read, &n
		mn, first := unreadMentions(meta, *me)
		c.UnreadMentions = &mn
		if first > 0 {
			c.FirstUnreadMention = &first
		}
	}
	if peer != nil {
		r := peer.ReadSeq
		c.PeerReadSeq = &r
	}
	return c
}

// unread counts the messages after the reader's read position, recall and
// edit events left out, from the counts of the head and the entry
// (Message.Count). Where a count is unknown - a conversation with messages
// stored before counts existed - it counts every seq instead.
func unread(meta ConvMeta, e Entry) int64 {
	read := min(e.ReadSeq, meta.LastSeq)
	if read == e.ReadSeq && (meta.LastSeq == 0 || meta.LastCount > 0) && (read == 0 || e.ReadCount > 0) {
		return max(meta.LastCount-e.ReadCount, 0)
	}
	return meta.LastSeq - read
}

// GetConversation returns one conversation as the reader sees it (admin
// tokens may pass asUser to see a user's read state).
func (s *Service) GetConversation(ctx context.Context, p auth.Principal, convID, asUser string) (Conversation, error) {
	ref, err := ParseConversationID(convID)
	if err != nil {
		return Conversation{}, err
	}
	r, err := readerOf(p, asUser)
	if err != nil {
		return Conversation{}, err
	}
	var entries []string
	peerID := ""
	if ref.Kind == KindDM {
		entries = []string{ref.A, ref.B}
	} else if r.id != "" {
		entries = []string{r.id}
	}
	v, err := s.readAccess(ctx, r, ref, entries...)
	if err != nil {
		return Conversation{}, err
	}
	var me, peer *Entry
	if e, ok := v.Entries[r.id]; ok && r.id != "" {
		me = &e
	}
	if ref.Kind == KindDM && r.id != "" {
		peerID = ref.Peer(r.id)
		if e, ok := v.Entries[peerID]; ok {
			peer = &e
		}
	}
	return summary(*v.Meta, me, peer, peerID), nil
}

// ConversationPage is one page of a user's conversations.
type ConversationPage struct {
	Conversations []Conversation `json:"conversations"`
	NextCursor    string         `json:"next_cursor,omitempty"`
}

// userConversations reads a user's entries and their heads (dissolved
// groups and DMs without messages left out), plus DM peers' entries.
func (s *Service) userConversations(ctx context.Context, uid string, withPeers bool) ([]Conversation, map[ConversationID]ConvMeta, error) {
	entries, err := s.store.ListEntries(ctx, uid)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]ConversationID, 0, len(entries))
	var peerKeys []EntryKey
	for _, e := range entries {
		ids = append(ids, e.ConversationID)
		if e.Kind == KindDM && withPeers {
			peerKeys = append(peerKeys, EntryKey{UserID: e.Peer, ConversationID: e.ConversationID})
		}
	}
	metas, err := s.store.GetConvMetas(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	peers := map[EntryKey]Entry{}
	if len(peerKeys) > 0 {
		if peers, err = s.store.GetEntries(ctx, peerKeys); err != nil {
			return nil, nil, err
		}
	}
	list := make([]Conversation, 0, len(entries))
	for _, e := range entries {
		meta, ok := metas[e.ConversationID]
		if !ok || meta.Closed {
			delete(metas, e.ConversationID)
			continue
		}
		var peer *Entry
		if pe, ok := peers[EntryKey{UserID: e.Peer, ConversationID: e.ConversationID}]; ok {
			peer = &pe
		}
		list = append(list, summary(meta, &e, peer, e.Peer))
	}
	return list, metas, nil
}

// ListConversations returns the reader's conversations, most recently
// active first. Cost grows with the number of the user's conversations
// (their heads are read in BatchGetItems of 100), never with group sizes.
func (s *Service) ListConversations(ctx context.Context, p auth.Principal, asUser string, limit int, token string) (ConversationPage, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return ConversationPage{}, err
	}
	r, err := readerOf(p, asUser)
	if err != nil {
		return ConversationPage{}, err
	}
	if r.id == "" {
		return ConversationPage{}, fieldErr("user_id", "An admin token must give user_id.")
	}
	scope := "conversations:" + r.id
	var start conversationsCursor
	if err := s.cursors.Decode(scope, token, &start); err != nil {
		return ConversationPage{}, err
	}
	list, _, err := s.userConversations(ctx, r.id, true)
	if err != nil {
		return ConversationPage{}, err
	}
	sort.Slice(list, func(i, j int) bool { return before(list[i], list[j]) })
	if start.At != nil {
		mark := Conversation{ConversationID: start.ID, LastActivityAt: time.UnixMilli(*start.At).UTC()}
		i := sort.Search(len(list), func(i int) bool { return before(mark, list[i]) })
		list = list[i:]
	}
	page := ConversationPage{Conversations: list}
	if len(list) > limit {
		page.Conversations = list[:limit]
		last := list[limit-1]
		at := last.LastActivityAt.UnixMilli()
		page.NextCursor, err = s.cursors.Encode(scope, conversationsCursor{At: &at, ID: last.ConversationID})
		if err != nil {
			return ConversationPage{}, err
		}
	}
	return page, nil
}

// before orders conversations newest activity first, then by id.
func before(a, b Conversation) bool {
	if !a.LastActivityAt.Equal(b.LastActivityAt) {
		return a.LastActivityAt.After(b.LastActivityAt)
	}
	return a.ConversationID < b.ConversationID
}

// conversationsCursor is the state of a conversation listing: the last
// conversation of the previous page (activity in Unix ms, then id).
type conversationsCursor struct {
	At *int64         `json:"at,omitempty"`
	ID ConversationID `json:"id,omitempty"`
}

// syncCursor is the state of a sync: the conversation to resume at and
// the last seq already returned in it.
type syncCursor struct {
	Conv ConversationID `json:"c,omitempty"`
	Seq  int64          `json:"s,omitempty"`
}

// ReadState is a reader's position in a conversation after marking read.
type ReadState struct {
	ConversationID ConversationID `json:"conversation_id"`
	ReadSeq        int64          `json:"read_seq"`
	LastSeq        int64          `json:"last_seq"`
	UnreadCount    int64          `json:"unread_count"`
	UnreadMentions int64          `json:"unread_mentions"`
}

// MarkRead moves the reader's read position up to seq. It never moves it
// back: an older seq leaves it where it is. Cost: one BatchGetItem (head)
// and one UpdateItem, plus one GetItem (the message's count) unless seq
// is the last seq or 0.
func (s *Service) MarkRead(ctx context.Context, p auth.Principal, convID string, seq int64, asUser string) (ReadState, error) {
	ref, err := ParseConversationID(convID)
	if err != nil {
		return ReadState{}, err
	}
	r, err := readerOf(p, asUser)
	if err != nil {
		return ReadState{}, err
	}
	if r.id == "" {
		return ReadState{}, fieldErr("user_id", "An admin token must give user_id.")
	}
	if ref.Kind == KindDM && !ref.Has(r.id) {
		return ReadState{}, notFound("Conversation", ref.ID)
	}
	// The entry exists exactly while the reader is a participant or a
	// member, so the conditional update checks membership; the head bounds
	// the seq.
	v, err := s.store.ReadConversation(ctx, ConvQuery{ID: ref.ID})
	if err != nil {
		return ReadState{}, err
	}
	if v.Meta == nil || v.Meta.Closed {
		return ReadState{}, notFound("Conversation", ref.ID)
	}
	if seq < 0 || seq > v.Meta.LastSeq {
		return ReadState{}, apierror.New(apierror.SeqOutOfRange, "seq must be between 0 and %d.", v.Meta.LastSeq).
			WithDetails(map[string]int64{"last_seq": v.Meta.LastSeq})
	}
	// The count at seq makes unread counts exact: the head has it for the
	// last seq (the usual case), otherwise the message has it.
	mark := ReadMark{Seq: seq}
	switch {
	case seq == v.Meta.LastSeq:
		mark.Count = v.Meta.LastCount
	case seq > 0:
		if mark.Count, err = s.store.MessageCount(ctx, ref.ID, seq); err != nil {
			return ReadState{}, err
		}
	}
	e, err := s.store.MarkRead(ctx, r.id, ref.ID, mark)
	if apierror.Is(err, apierror.NotFound) {
		return ReadState{}, notFound("Conversation", ref.ID)
	}
	if err != nil {
		return ReadState{}, err
	}
	read := min(e.ReadSeq, v.Meta.LastSeq)
	if e.ReadSeq == seq && seq > 0 {
		s.notify(ctx, Event{Type: EventConversationRead, ConversationID: ref.ID, GroupID: ref.GroupID, Seq: seq, Actor: r.id})
	}
	mn, _ := unreadMentions(*v.Meta, e)
	return ReadState{ConversationID: ref.ID, ReadSeq: read, LastSeq: v.Meta.LastSeq, UnreadCount: unread(*v.Meta, e), UnreadMentions: mn}, nil
}

// SyncInput is what a reconnecting client knows: its last seq per
// conversation (conversations it does not list count as 0).
type SyncInput struct {
	Since  map[string]int64
	Limit  int
	Cursor string
	AsUser string // admin tokens
}

// SyncPage is one page of missed messages.
type SyncPage struct {
	// Messages are ordered by conversation id, then seq: each
	// conversation's missed messages arrive in order, without gaps.
	Messages []Message `json:"messages"`
	// Conversations are the current state of the conversations with
	// messages in this page.
	Conversations []Conversation `json:"conversations"`
	// Removed lists conversations in Since the user no longer belongs to
	// (left, removed, dissolved).
	Removed    []ConversationID `json:"removed"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// MaxSyncConversations bounds the since map of one sync call.
const MaxSyncConversations = 1000

// Sync returns every message the client missed, across all its
// conversations. Read diffusion keeps it cheap: one Query for the user's
// entries, one BatchGetItem per 100 conversations for their heads, then
// one Query per conversation that changed; group size never matters.
// Pages: pass next_cursor back with the same since.
func (s *Service) Sync(ctx context.Context, p auth.Principal, in SyncInput) (SyncPage, error) {
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return SyncPage{}, err
	}
	if len(in.Since) > MaxSyncConversations {
		return SyncPage{}, fieldErr("since", "since may list at most %d conversations.", MaxSyncConversations)
	}
	since := map[ConversationID]int64{}
	for id, seq := range in.Since {
		ref, err := ParseConversationID(id)
		if err != nil {
			return SyncPage{}, err
		}
		if seq < 0 || seq > maxSeq {
			return SyncPage{}, apierror.New(apierror.SeqOutOfRange, "since[%q] is out of range.", id)
		}
		since[ref.ID] = max(since[ref.ID], seq)
	}
	r, err := readerOf(p, in.AsUser)
	if err != nil {
		return SyncPage{}, err
	}
	if r.id == "" {
		return SyncPage{}, fieldErr("user_id", "An admin token must give user_id.")
	}
	scope := "sync:" + r.id
	var start syncCursor
	if err := s.cursors.Decode(scope, in.Cursor, &start); err != nil {
		return SyncPage{}, err
	}
	list, metas, err := s.userConversations(ctx, r.id, false)
	if err != nil {
		return SyncPage{}, err
	}
	page := SyncPage{Messages: []Message{}, Conversations: []Conversation{}, Removed: []ConversationID{}}
	for id := range since {
		if _, ok := metas[id]; !ok {
			page.Removed = append(page.Removed, id)
		}
	}
	sort.Slice(page.Removed, func(i, j int) bool { return page.Removed[i] < page.Removed[j] })
	sort.Slice(list, func(i, j int) bool { return list[i].ConversationID < list[j].ConversationID })
	resumeAt, resumeSeq := start.Conv, start.Seq
	for _, c := range list {
		if c.ConversationID < resumeAt {
			continue
		}
		known := since[c.ConversationID]
		if c.ConversationID == resumeAt {
			known = max(known, resumeSeq)
		}
		if c.LastSeq <= known {
			continue
		}
		room := limit - len(page.Messages)
		if room == 0 {
			page.NextCursor, err = s.cursors.Encode(scope, syncCursor{Conv: c.ConversationID, Seq: known})
			return page, err
		}
		msgs, err := s.store.History(ctx, c.ConversationID, known+1, maxSeq, true, room)
		if err != nil {
			return SyncPage{}, err
		}
		if err := s.withQuotes(ctx, c.ConversationID, msgs); err != nil {
			return SyncPage{}, err
		}
		forReaderAll(msgs, r.id)
		page.Messages = append(page.Messages, msgs...)
		page.Conversations = append(page.Conversations, c)
		if len(msgs) == room {
			page.NextCursor, err = s.cursors.Encode(scope, syncCursor{Conv: c.ConversationID, Seq: msgs[len(msgs)-1].Seq})
			return page, err
		}
	}
	return page, nil
}
