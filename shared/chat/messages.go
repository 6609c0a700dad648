package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/users"
)

// Message limits (docs/openapi.yaml). The envelope - the message as JSON,
// as history, sync and pushes carry it - must fit one API Gateway
// WebSocket frame (32 KB) with room for the push's event wrapper.
const (
	MaxTextRunes     = 4000
	MaxPayloadBytes  = 16 << 10 // payload.data, compact JSON
	MaxEnvelopeBytes = 32000
	maxPreviewRunes  = 100
	// maxSeq bounds seq arithmetic and the 12-digit sort key.
	maxSeq = 999_999_999_999
)

var payloadType = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$`)

// SendInput is a message to send. Exactly one of ToUser, ToGroup and
// ConversationID names the target.
type SendInput struct {
	ToUser         string
	ToGroup        string
	ConversationID string
	// SenderID and System are for admin tokens only: send as that user, or
	// as the system. A user token always sends as itself.
	SenderID    string
	System      bool
	ClientMsgID string // optional; makes the send idempotent
	Text        string
	Payload     *Payload
}

// sender is who a message is from.
type sender struct {
	system bool
	id     string // user id ("" for system)
}

func (s sender) claimScope() string {
	if s.system {
		return "~system" // '~' is not an id character: no user collides
	}
	return s.id
}

func (s *Service) resolveSender(p auth.Principal, in SendInput) (sender, error) {
	if !p.IsAdmin() {
		uid, err := p.User()
		if err != nil {
			return sender{}, err
		}
		if in.System || (in.SenderID != "" && in.SenderID != uid) {
			return sender{}, apierror.New(apierror.Forbidden, "A user token sends only as itself.")
		}
		return sender{id: uid}, nil
	}
	switch {
	case in.System && in.SenderID != "":
		return sender{}, fieldErr("sender_id", "Give sender_id or system, not both.")
	case in.System:
		return sender{system: true}, nil
	case in.SenderID == "":
		return sender{}, fieldErr("sender_id", "An admin token must give sender_id or system=true.")
	}
	if err := users.ValidateID("sender_id", in.SenderID); err != nil {
		return sender{}, err
	}
	return sender{id: in.SenderID}, nil
}

func (s *Service) resolveTarget(from sender, in SendInput) (ConvRef, error) {
	n := 0
	for _, v := range []string{in.ToUser, in.ToGroup, in.ConversationID} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return ConvRef{}, fieldErr("to_user", "Give exactly one of to_user, to_group and conversation_id.")
	}
	switch {
	case in.ToUser != "":
		if err := users.ValidateID("to_user", in.ToUser); err != nil {
			return ConvRef{}, err
		}
		if from.system {
			return ConvRef{}, fieldErr("to_user", "System messages go to a conversation_id or a group.")
		}
		if in.ToUser == from.id {
			return ConvRef{}, fieldErr("to_user", "A user cannot message itself.")
		}
		return ParseConversationID(string(DMID(from.id, in.ToUser)))
	case in.ToGroup != "":
		if err := users.ValidateID("to_group", in.ToGroup); err != nil {
			return ConvRef{}, err
		}
		return ParseConversationID(string(GroupConversationID(in.ToGroup)))
	}
	return ParseConversationID(in.ConversationID)
}

// validateContent checks text and payload and returns the payload with
// its data compacted.
func validateContent(text string, pl *Payload) (*Payload, error) {
	if !utf8.ValidString(text) {
		return nil, fieldErr("text", "text must be valid UTF-8.")
	}
	if utf8.RuneCountInString(text) > MaxTextRunes {
		return nil, apierror.New(apierror.MessageTooLarge, "text exceeds %d characters.", MaxTextRunes).WithDetails(map[string]string{"field": "text"})
	}
	if pl == nil {
		if text == "" {
			return nil, fieldErr("text", "A message needs text or a payload.")
		}
		return nil, nil
	}
	if !payloadType.MatchString(pl.Type) {
		return nil, fieldErr("payload.type", "payload.type must match %s.", payloadType.String())
	}
	out := &Payload{Type: pl.Type}
	if len(pl.Data) > 0 && string(pl.Data) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, pl.Data); err != nil {
			return nil, fieldErr("payload.data", "payload.data must be JSON.")
		}
		if buf.Len() > MaxPayloadBytes {
			return nil, apierror.New(apierror.MessageTooLarge, "payload.data exceeds %d bytes.", MaxPayloadBytes).WithDetails(map[string]string{"field": "payload.data"})
		}
		out.Data = buf.Bytes()
	}
	return out, nil
}

func checkEnvelope(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fieldErr("payload.data", "The message cannot be encoded.")
	}
	if len(b) > MaxEnvelopeBytes {
		return apierror.New(apierror.MessageTooLarge, "The message exceeds %d bytes as JSON.", MaxEnvelopeBytes)
	}
	return nil
}

// preview is the head's preview of m. Event messages have none: the
// conversation list shows their kind instead (LastMessage).
func preview(m Message) string {
	if m.Recalled || (m.Kind != "" && m.Kind != KindMessage) {
		return ""
	}
	if m.Text == "" && m.Payload != nil {
		return "[" + m.Payload.Type + "]"
	}
	if utf8.RuneCountInString(m.Text) <= maxPreviewRunes {
		return m.Text
	}
	r := []rune(m.Text)
	return string(r[:maxPreviewRunes]) + "…"
}

func msgFingerprint(from sender, conv ConversationID, text string, pl *Payload) string {
	b, _ := json.Marshal([]any{from.system, from.id, conv, text, pl})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Send stores a message and returns it. The server assigns the seq (the
// conversation's next, gapless), the message id and the time. With a
// client_msg_id a retry - however often, however concurrent - returns the
// original message (created=false) and never stores a second one.
//
// Cost for an existing conversation, whatever the group size: one
// BatchGetItem (head + membership or peer), then PutItem claim, PutItem
// message, UpdateItem head - 3 WCU for a message under 1 KB. The algorithm
// and its proof of gaplessness: docs/data-model.md.
func (s *Service) Send(ctx context.Context, p auth.Principal, in SendInput) (Message, bool, error) {
	from, err := s.resolveSender(p, in)
	if err != nil {
		return Message{}, false, err
	}
	ref, err := s.resolveTarget(from, in)
	if err != nil {
		return Message{}, false, err
	}
	if in.ClientMsgID != "" {
		if err := users.ValidateID("client_msg_id", in.ClientMsgID); err != nil {
			return Message{}, false, err
		}
	}
	pl, err := validateContent(in.Text, in.Payload)
	if err != nil {
		return Message{}, false, err
	}
	now := s.clock()
	m := Message{ConversationID: ref.ID, MessageID: newID("m", now), Kind: KindMessage, ClientMsgID: in.ClientMsgID, SenderType: SenderUser,
		SenderID: from.id, Text: in.Text, Payload: pl, CreatedAt: now, Seq: maxSeq}
	if from.system {
		m.SenderType = SenderSystem
	}
	if err := checkEnvelope(m); err != nil {
		return Message{}, false, err
	}

	meta, err := s.sendAccess(ctx, p, from, ref)
	if err != nil {
		return Message{}, false, err
	}
	if meta == nil { // a DM's first message: create both entries first
		if err := s.store.EnsureDMEntries(ctx, ref, now); err != nil {
			return Message{}, false, err
		}
	}
	var last, lastCount int64
	if meta != nil {
		last, lastCount = meta.LastSeq, meta.LastCount
	}
	m.Seq, m.Count = last+1, CountAfter(last, lastCount, KindMessage)
	m.Fingerprint = msgFingerprint(from, ref.ID, m.Text, m.Payload)

	claimKey := ""
	if in.ClientMsgID != "" {
		claimKey = from.claimScope() + "#" + in.ClientMsgID
	}
	stored, created, err := s.put(ctx, m, claimKey)
	if err != nil {
		return Message{}, false, err
	}
	// Also on a retry: the first attempt may have died before the head.
	if err := s.store.AdvanceConversation(ctx, ref, stored, preview(stored)); err != nil {
		return Message{}, false, err
	}
	if created {
		s.notify(ctx, Event{Type: EventMessageCreated, ConversationID: ref.ID, GroupID: ref.GroupID, Seq: stored.Seq, Actor: from.id, Message: &stored})
	}
	return stored, created, nil
}

// put stores m at the conversation's next seq (m.Seq is the head's
// last_seq + 1) and returns the message stored; the caller then advances
// the head. With a claim key it is idempotent: a retry - however often,
// however concurrent - gets the message first stored under the key
// (created=false), or, if the first attempt died before storing it,
// stores it with the claim's seq, id and time. A claim whose fingerprint
// differs from m's is idempotency_key_reused.
func (s *Service) put(ctx context.Context, m Message, claimKey string) (Message, bool, error) {
	if claimKey == "" {
		return s.place(ctx, m, nil)
	}
	claim := &Claim{ConversationID: m.ConversationID, Key: claimKey, Seq: m.Seq, MessageID: m.MessageID, CreatedAt: m.CreatedAt,
		Fingerprint: m.Fingerprint}
	old, err := s.store.ClaimClientMsgID(ctx, *claim)
	if err != nil {
		return Message{}, false, err
	}
	if old != nil { // a retry
		if old.Fingerprint != m.Fingerprint {
			return Message{}, false, apierror.New(apierror.IdempotencyKeyReused, "This client_msg_id was used for a different message.")
		}
		claim = old
		stored, err := s.store.GetMessage(ctx, m.ConversationID, old.Seq)
		if err != nil {
			return Message{}, false, err
		}
		if stored != nil && stored.MessageID == old.MessageID {
			return *stored, false, nil
		}
		// Missing or another message: the first attempt died before
		// writing; take over with the same id, time and seq. A free slot
		// there follows the newest message, which gives the count.
		if stored == nil && old.Seq != m.Seq {
			latest, count, err := s.store.LatestSeq(ctx, m.ConversationID)
			if err != nil {
				return Message{}, false, err
			}
			m.Count = CountAfter(latest, count, m.Kind)
		}
		m.MessageID, m.CreatedAt, m.Seq = old.MessageID, old.CreatedAt, old.Seq
	}
	return s.place(ctx, m, claim)
}

// CountAfter is the Count of a message of the kind stored right after the
// message at prevSeq, whose Count is prevCount: one more for a message,
// the same for an event. An unknown count (0 after seq 0) stays unknown.
func CountAfter(prevSeq, prevCount int64, kind string) int64 {
	switch {
	case prevSeq > 0 && prevCount == 0:
		return 0
	case kind == KindMessage:
		return prevCount + 1
	}
	return prevCount
}

// place writes m at m.Seq, moving on to the true next seq whenever the
// slot is taken by another message. Gapless by induction: the head's
// last_seq never exceeds the highest stored seq, and every write targets
// either head+1 or highest+1, so it lands right after the highest stored
// message or collides. A claim moves only off a slot held by another
// message, so its message is written at one seq at most. For the same
// reason m.Count, computed from the message m.Seq-1 as read, is exact
// whenever the write lands.
func (s *Service) place(ctx context.Context, m Message, claim *Claim) (Message, bool, error) {
	for attempt := 0; attempt < 200; attempt++ {
		if m.Seq > maxSeq {
			return Message{}, false, errors.New("chat: send: conversation is full")
		}
		old, err := s.store.PutMessage(ctx, m)
		if err != nil {
			return Message{}, false, err
		}
		if old == nil {
			return m, true, nil
		}
		if old.MessageID == m.MessageID {
			return *old, false, nil // a concurrent retry of ours wrote it
		}
		latest, count, err := s.store.LatestSeq(ctx, m.ConversationID)
		if err != nil {
			return Message{}, false, err
		}
		if latest < m.Seq { // the read lags the write that took m.Seq
			latest, count = old.Seq, old.Count
		}
		next := latest + 1
		if claim != nil {
			moved := *claim
			moved.Seq = next
			cur, err := s.store.MoveClaim(ctx, moved, m.Seq)
			if err != nil {
				return Message{}, false, err
			}
			if cur != nil { // a concurrent retry moved it first: follow it
				next = cur.Seq
				moved = *cur
				if next > latest+1 { // past what we read: read again for the count
					if latest, count, err = s.store.LatestSeq(ctx, m.ConversationID); err != nil {
						return Message{}, false, err
					}
				}
			}
			claim = &moved
		}
		// If next does not follow latest the write collides and recounts.
		m.Seq, m.Count = next, CountAfter(latest, count, m.Kind)
		// Under contention every loser of a slot races for the next one;
		// a little jitter spreads them out so most win within a few tries.
		if err := jitter(ctx, attempt); err != nil {
			return Message{}, false, err
		}
	}
	return Message{}, false, errors.New("chat: send: too much contention")
}

func jitter(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(2*time.Millisecond) << min(attempt, 5))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sendAccess checks the sender may post to ref and returns the head (nil
// for a DM without messages yet). One BatchGetItem.
func (s *Service) sendAccess(ctx context.Context, p auth.Principal, from sender, ref ConvRef) (*ConvMeta, error) {
	q := ConvQuery{ID: ref.ID}
	switch ref.Kind {
	case KindDM:
		if !from.system && !ref.Has(from.id) {
			return nil, notFound("Conversation", ref.ID)
		}
		if !from.system {
			q.UserExists = ref.Peer(from.id)
		}
	case KindGroup:
		if !from.system {
			q.MemberOf, q.Member = ref.GroupID, from.id
		}
	}
	v, err := s.store.ReadConversation(ctx, q)
	if err != nil {
		return nil, err
	}
	if p.IsAdmin() && !from.system {
		// An admin sending as a user: that user must exist too.
		if err := s.requireUsers(ctx, []string{from.id}); err != nil {
			return nil, err
		}
	}
	switch ref.Kind {
	case KindDM:
		if from.system {
			if v.Meta == nil {
				return nil, notFound("Conversation", ref.ID)
			}
			return v.Meta, nil
		}
		if !v.UserExists {
			return nil, apierror.New(apierror.NotFound, "User %q was not found.", ref.Peer(from.id))
		}
		return v.Meta, nil
	default:
		if v.Meta == nil || v.Meta.Closed {
			return nil, notFound("Group", ref.GroupID)
		}
		if !from.system {
			if v.Member == nil {
				return nil, notFound("Group", ref.GroupID)
			}
			if v.Member.Muted {
				return nil, apierror.New(apierror.Muted, "You are muted in this group.")
			}
		}
		return v.Meta, nil
	}
}

// reader is whoever reads a conversation: a user, or an admin token
// (which reads everything).
type reader struct {
	admin bool
	id    string
}

func readerOf(p auth.Principal, asUser string) (reader, error) {
	if !p.IsAdmin() {
		uid, err := p.User()
		if err != nil {
			return reader{}, err
		}
		if asUser != "" && asUser != uid {
			return reader{}, apierror.New(apierror.Forbidden, "A user token may act only on its own user.")
		}
		return reader{id: uid}, nil
	}
	if asUser != "" {
		if err := users.ValidateID("user_id", asUser); err != nil {
			return reader{}, err
		}
	}
	return reader{admin: true, id: asUser}, nil
}

// readAccess loads the head and, for a group, the reader's membership,
// and refuses with 404 anyone who may not see the conversation: a
// non-participant of a DM, a non-member of a group, a dissolved group.
func (s *Service) readAccess(ctx context.Context, r reader, ref ConvRef, entries ...string) (ConvView, error) {
	q := ConvQuery{ID: ref.ID, Entries: entries}
	if ref.Kind == KindDM && r.id != "" && !ref.Has(r.id) {
		return ConvView{}, notFound("Conversation", ref.ID)
	}
	if ref.Kind == KindGroup && r.id != "" {
		q.MemberOf, q.Member = ref.GroupID, r.id
	}
	v, err := s.store.ReadConversation(ctx, q)
	if err != nil {
		return ConvView{}, err
	}
	if v.Meta == nil || (v.Meta.Closed && !r.admin) || (ref.Kind == KindGroup && r.id != "" && v.Member == nil) {
		return ConvView{}, notFound("Conversation", ref.ID)
	}
	return v, nil
}

// HistoryQuery selects a page of history. After and Before are exclusive
// bounds; nil is no bound (so After of 0 is "from the first message",
// distinct from no After at all). With After the page goes forward from
// it; otherwise it ends just below Before (or at the newest message).
// Messages are always returned oldest first.
type HistoryQuery struct {
	After, Before *int64
	Limit         int
	Cursor        string
	AsUser        string // admin tokens: read as this user (optional)
}

// historyCursor is the state of a history listing: the bounds of the
// next page (nil: unbounded on that side).
type historyCursor struct {
	After  *int64 `json:"a,omitempty"`
	Before *int64 `json:"b,omitempty"`
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// History pages through a conversation by seq.
func (s *Service) History(ctx context.Context, p auth.Principal, convID string, q HistoryQuery) (MessagePage, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return MessagePage{}, err
	}
	ref, err := ParseConversationID(convID)
	if err != nil {
		return MessagePage{}, err
	}
	r, err := readerOf(p, q.AsUser)
	if err != nil {
		return MessagePage{}, err
	}
	scope := "history:" + string(ref.ID)
	if q.Cursor != "" {
		var c historyCursor
		if err := s.cursors.Decode(scope, q.Cursor, &c); err != nil {
			return MessagePage{}, err
		}
		// The cursor replaces the query's bounds: a bound it lacks is none.
		q.After, q.Before = c.After, c.Before
	}
	after, forward := int64(0), q.After != nil
	if forward {
		after = *q.After
	}
	if after < 0 || (q.Before != nil && *q.Before < 0) || (forward && q.Before != nil && *q.Before <= after+1 && q.Cursor == "") {
		return MessagePage{}, apierror.New(apierror.SeqOutOfRange, "after and before must be non-negative, with after < before - 1.")
	}
	v, err := s.readAccess(ctx, r, ref)
	if err != nil {
		return MessagePage{}, err
	}
	last := v.Meta.LastSeq
	if after > last || (q.Before != nil && *q.Before > last+1) {
		return MessagePage{}, apierror.New(apierror.SeqOutOfRange, "The conversation's last seq is %d.", last).WithDetails(map[string]int64{"last_seq": last})
	}
	hi := int64(maxSeq)
	if q.Before != nil {
		hi = *q.Before - 1
	}
	page := MessagePage{Messages: []Message{}}
	if hi < after+1 {
		return page, nil
	}
	list, err := s.store.History(ctx, ref.ID, after+1, hi, forward, limit)
	if err != nil {
		return MessagePage{}, err
	}
	if !forward {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	if list != nil {
		page.Messages = list
	}
	if len(list) == limit {
		var next historyCursor
		if forward {
			next.After, next.Before = &list[len(list)-1].Seq, q.Before
		} else if list[0].Seq > 1 {
			next.Before = &list[0].Seq
		}
		if next.After != nil || next.Before != nil {
			if page.NextCursor, err = s.cursors.Encode(scope, next); err != nil {
				return MessagePage{}, err
			}
		}
	}
	return page, nil
}

// ParseSeq reads a seq from a path or query string: a decimal 0..maxSeq.
func ParseSeq(field, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		n = maxSeq + 1 // all digits, just too many of them
	} else if err != nil {
		return 0, fieldErr(field, "%s must be an integer.", field)
	}
	if n < 0 || n > maxSeq {
		return 0, apierror.New(apierror.SeqOutOfRange, "%s must be between 0 and %d.", field, maxSeq)
	}
	return n, nil
}

// A recall or an edit changes the message in place (it keeps its seq) and
// appends an event message of kind recall or edit at the conversation's
// next seq, through the same claim and place steps as Send, so it is
// gapless and idempotent. Sync and history then carry the change, in
// order, to every client, including those that already had the message
// (docs/data-model.md, "Recall and edit").
//
// The event comes first and the message records its seq (recall_seq,
// edit_seq): a retry of a call that died between the two finds the event
// under its claim and completes the change; concurrent edits end with the
// text of the highest edit event, the one clients apply last; and a
// recall finds every edit event of the message by its claims and erases
// their text.

// target is the message a recall or edit acts on, with the actor and the
// conversation's head as read for the access check.
type target struct {
	ref    ConvRef
	r      reader
	meta   ConvMeta
	member *Member // the actor's group membership (groups)
	msg    Message
}

func (t target) sentByActor() bool {
	return t.r.id != "" && t.msg.SenderType == SenderUser && t.msg.SenderID == t.r.id
}

// Event claim keys. '~' is not an id character, so they never collide
// with a sender's client_msg_id claims. A recall has one key per message:
// every recall of it shares one event. An edit's key names the edit it
// replaces (the message's edit_seq) and the new text, so a retry finds its
// event while a later edit back to an earlier text is a new edit.
func recallKey(seq int64) string     { return fmt.Sprintf("~recall#%012d", seq) }
func editKeyPrefix(seq int64) string { return fmt.Sprintf("~edit#%012d#", seq) }
func editKey(seq, base int64, text string) string {
	sum := sha256.Sum256([]byte(text))
	return fmt.Sprintf("%s%d#%s", editKeyPrefix(seq), base, hex.EncodeToString(sum[:16]))
}

// target reads and checks what a recall or edit needs: the head and the
// actor's membership (one BatchGetItem) and the message (one GetItem).
func (s *Service) target(ctx context.Context, p auth.Principal, convID string, seq int64) (target, error) {
	ref, err := ParseConversationID(convID)
	if err != nil {
		return target{}, err
	}
	r, err := readerOf(p, "")
	if err != nil {
		return target{}, err
	}
	v, err := s.readAccess(ctx, r, ref)
	if err != nil {
		return target{}, err
	}
	if v.Meta.Closed {
		return target{}, notFound("Conversation", ref.ID)
	}
	if seq < 1 || seq > v.Meta.LastSeq {
		return target{}, apierror.New(apierror.SeqOutOfRange, "seq must be between 1 and %d.", v.Meta.LastSeq)
	}
	m, err := s.store.GetMessage(ctx, ref.ID, seq)
	if err != nil {
		return target{}, err
	}
	if m == nil {
		return target{}, notFound("Message", seq)
	}
	if m.Kind != KindMessage {
		return target{}, fieldErr("seq", "seq %d is a %s event: only messages can be recalled or edited.", seq, m.Kind)
	}
	return target{ref: ref, r: r, meta: *v.Meta, member: v.Member, msg: *m}, nil
}

// appendEvent stores the event message of a change to t.msg at the
// conversation's next seq under the claim key and returns it (as first
// stored, if a call with the key stored it before). Its sender is the
// actor, or the system for an admin token.
func (s *Service) appendEvent(ctx context.Context, t target, kind, text, key string, now time.Time) (Message, error) {
	m := Message{ConversationID: t.ref.ID, Seq: t.meta.LastSeq + 1, MessageID: newID("m", now), Kind: kind, RefSeq: t.msg.Seq,
		SenderType: SenderUser, SenderID: t.r.id, Text: text, CreatedAt: now, Count: CountAfter(t.meta.LastSeq, t.meta.LastCount, kind)}
	if t.r.id == "" {
		m.SenderType = SenderSystem
	}
	// The key determines the event's content, so whoever stores it first,
	// a retry is never a different request.
	sum := sha256.Sum256([]byte(key))
	m.Fingerprint = hex.EncodeToString(sum[:16])
	ev, _, err := s.put(ctx, m, key)
	return ev, err
}

// Recall withdraws a message: its content is erased, its seq stays, and
// history and sync show it as recalled, followed by a recall event. The
// sender may recall within the recall window; group owners and admins,
// and admin tokens, at any time. Recalling a recalled message returns it
// and appends nothing.
//
// Cost: one BatchGetItem and one GetItem, PutItem claim + PutItem event +
// UpdateItem head (as a send), UpdateItem message, one Query for the
// message's edit events (+ one UpdateItem per edit event).
func (s *Service) Recall(ctx context.Context, p auth.Principal, convID string, seq int64) (Message, error) {
	t, err := s.target(ctx, p, convID, seq)
	if err != nil {
		return Message{}, err
	}
	if t.msg.Recalled {
		return t.msg, nil // recalling twice is harmless
	}
	now := s.clock()
	ch := MessageChange{ConversationID: t.ref.ID, Seq: seq, Recall: true, By: t.r.id}
	moderator := t.r.admin || (t.member != nil && (t.member.Role == RoleOwner || t.member.Role == RoleAdmin))
	if !moderator {
		if !t.sentByActor() {
			return Message{}, apierror.New(apierror.Forbidden, "Only the sender, group owners and admins can recall this message.")
		}
		ch.RequireSender, ch.NotBefore = t.r.id, now.Add(-s.cfg.RecallWindow)
		if t.msg.CreatedAt.Before(ch.NotBefore) {
			// Unless a recall accepted within the window died after
			// claiming its event: this retry completes it.
			claims, err := s.store.ListClaims(ctx, t.ref.ID, recallKey(seq))
			if err != nil {
				return Message{}, err
			}
			if len(claims) == 0 {
				return Message{}, apierror.New(apierror.RecallWindowClosed, "Messages can be recalled within %s of sending.", s.cfg.RecallWindow)
			}
			ch.RequireSender, ch.NotBefore = "", time.Time{}
		}
	}
	ev, err := s.appendEvent(ctx, t, KindRecall, "", recallKey(seq), now)
	if err != nil {
		return Message{}, err
	}
	ch.At, ch.EventSeq = ev.CreatedAt, ev.Seq
	m, old, err := s.store.ChangeMessage(ctx, ch)
	applied := err == nil
	if errors.Is(err, ErrConflict) {
		if old == nil || !old.Recalled {
			return Message{}, fmt.Errorf("chat: recall: message %d changed against its checks", seq)
		}
		m, err = *old, nil // recalled concurrently, with the same event
	}
	if err != nil {
		return Message{}, err
	}
	// Edit events carry the message's text: erase them too. Their claims
	// list them all, including an edit still in flight (which, finding the
	// message recalled, erases its own event as well).
	edits, err := s.store.ListClaims(ctx, t.ref.ID, editKeyPrefix(seq))
	if err != nil {
		return Message{}, err
	}
	for _, c := range edits {
		if err := s.store.EraseMessage(ctx, t.ref.ID, c.Seq, c.MessageID, ev.CreatedAt); err != nil {
			return Message{}, err
		}
	}
	if err := s.store.AdvanceConversation(ctx, t.ref, ev, preview(ev)); err != nil {
		return Message{}, err
	}
	if applied {
		s.notify(ctx, Event{Type: EventMessageRecalled, ConversationID: t.ref.ID, GroupID: t.ref.GroupID, Seq: seq, Actor: t.r.id,
			Message: &m, EventSeq: ev.Seq, EventMessage: &ev})
	}
	return m, nil
}

// Edit replaces a message's text (the sender, or an admin token). The seq
// stays; the message carries edited_at and is followed by an edit event
// with the new text. An edit to the text the message already has changes
// nothing and appends nothing (so a retried edit appends one event).
//
// Cost: one BatchGetItem and one GetItem, PutItem claim + PutItem event +
// UpdateItem head (as a send), UpdateItem message.
func (s *Service) Edit(ctx context.Context, p auth.Principal, convID string, seq int64, text string) (Message, error) {
	if text == "" {
		return Message{}, fieldErr("text", "text must not be empty.")
	}
	if _, err := validateContent(text, nil); err != nil {
		return Message{}, err
	}
	t, err := s.target(ctx, p, convID, seq)
	if err != nil {
		return Message{}, err
	}
	if t.msg.Recalled {
		return Message{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
	}
	if !t.r.admin && !t.sentByActor() {
		return Message{}, apierror.New(apierror.Forbidden, "Only the sender can edit this message.")
	}
	if t.msg.Text == text {
		return t.msg, nil
	}
	now := s.clock()
	edited := t.msg
	edited.Text, edited.EditedAt, edited.EditSeq = text, &now, maxSeq // as large as it will get
	if err := checkEnvelope(edited); err != nil {
		return Message{}, err
	}
	ev, err := s.appendEvent(ctx, t, KindEdit, text, editKey(seq, t.msg.EditSeq, text), now)
	if err != nil {
		return Message{}, err
	}
	ch := MessageChange{ConversationID: t.ref.ID, Seq: seq, Text: text, At: ev.CreatedAt, By: t.r.id, EventSeq: ev.Seq}
	if !t.r.admin {
		ch.RequireSender = t.r.id
	}
	m, old, err := s.store.ChangeMessage(ctx, ch)
	applied := err == nil
	if errors.Is(err, ErrConflict) {
		switch {
		case old != nil && old.Recalled:
			// Recalled meanwhile: the event must not keep the text.
			if err := s.store.EraseMessage(ctx, t.ref.ID, ev.Seq, ev.MessageID, now); err != nil {
				return Message{}, err
			}
			if err := s.store.AdvanceConversation(ctx, t.ref, ev, preview(ev)); err != nil {
				return Message{}, err
			}
			return Message{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
		case old != nil && old.EditSeq >= ev.Seq:
			m, err = *old, nil // a later edit was applied first and stands
		default:
			return Message{}, fmt.Errorf("chat: edit: message %d changed against its checks", seq)
		}
	}
	if err != nil {
		return Message{}, err
	}
	if err := s.store.AdvanceConversation(ctx, t.ref, ev, preview(ev)); err != nil {
		return Message{}, err
	}
	if applied {
		s.notify(ctx, Event{Type: EventMessageEdited, ConversationID: t.ref.ID, GroupID: t.ref.GroupID, Seq: seq, Actor: t.r.id,
			Message: &m, EventSeq: ev.Seq, EventMessage: &ev})
	}
	return m, nil
}
