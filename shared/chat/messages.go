package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

func preview(m Message) string {
	if m.Recalled {
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
	m := Message{ConversationID: ref.ID, MessageID: newID("m", now), ClientMsgID: in.ClientMsgID, SenderType: SenderUser,
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
	var last int64
	if meta != nil {
		last = meta.LastSeq
	}
	m.Seq = last + 1
	m.Fingerprint = msgFingerprint(from, ref.ID, m.Text, m.Payload)

	var claim *Claim
	if in.ClientMsgID != "" {
		claim = &Claim{ConversationID: ref.ID, Key: from.claimScope() + "#" + in.ClientMsgID, Seq: m.Seq, MessageID: m.MessageID,
			CreatedAt: now, Fingerprint: m.Fingerprint}
		old, err := s.store.ClaimClientMsgID(ctx, *claim)
		if err != nil {
			return Message{}, false, err
		}
		if old != nil { // a retry
			if old.Fingerprint != m.Fingerprint {
				return Message{}, false, apierror.New(apierror.IdempotencyKeyReused, "This client_msg_id was used for a different message.")
			}
			claim = old
			m.MessageID, m.CreatedAt, m.Seq = old.MessageID, old.CreatedAt, old.Seq
			stored, err := s.store.GetMessage(ctx, ref.ID, old.Seq)
			if err != nil {
				return Message{}, false, err
			}
			if stored != nil && stored.MessageID == old.MessageID {
				// Repair the head in case the first attempt died before it.
				return *stored, false, s.store.AdvanceConversation(ctx, ref, *stored, preview(*stored))
			}
			// Missing or another message: the first attempt died before
			// writing; take over with the same id and time.
		}
	}
	stored, created, err := s.place(ctx, m, claim)
	if err != nil {
		return Message{}, false, err
	}
	if err := s.store.AdvanceConversation(ctx, ref, stored, preview(stored)); err != nil {
		return Message{}, false, err
	}
	s.notify(ctx, Event{Type: EventMessageCreated, ConversationID: ref.ID, GroupID: ref.GroupID, Seq: stored.Seq, Actor: from.id, Message: &stored})
	return stored, created, nil
}

// place writes m at m.Seq, moving on to the true next seq whenever the
// slot is taken by another message. Gapless by induction: the head's
// last_seq never exceeds the highest stored seq, and every write targets
// either head+1 or highest+1, so it lands right after the highest stored
// message or collides. A claim moves only off a slot held by another
// message, so its message is written at one seq at most.
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
		latest, err := s.store.LatestSeq(ctx, m.ConversationID)
		if err != nil {
			return Message{}, false, err
		}
		next := max(latest, m.Seq) + 1
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
			}
			claim = &moved
		}
		m.Seq = next
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
// bounds (0: none). With After the page goes forward from it; otherwise
// it ends just below Before (or at the newest message). Messages are
// always returned oldest first.
type HistoryQuery struct {
	After, Before int64
	Limit         int
	Cursor        string
	AsUser        string // admin tokens: read as this user (optional)
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
		c, err := s.cursors.Decode(scope, q.Cursor)
		if err != nil {
			return MessagePage{}, err
		}
		q.After, _ = strconv.ParseInt(c.Extra["a"], 10, 64)
		q.Before, _ = strconv.ParseInt(c.Extra["b"], 10, 64)
	}
	if q.After < 0 || q.Before < 0 || (q.Before > 0 && q.After > 0 && q.Before <= q.After+1 && q.Cursor == "") {
		return MessagePage{}, apierror.New(apierror.SeqOutOfRange, "after and before must be non-negative, with after < before - 1.")
	}
	v, err := s.readAccess(ctx, r, ref)
	if err != nil {
		return MessagePage{}, err
	}
	last := v.Meta.LastSeq
	if q.After > last || q.Before > last+1 {
		return MessagePage{}, apierror.New(apierror.SeqOutOfRange, "The conversation's last seq is %d.", last).WithDetails(map[string]int64{"last_seq": last})
	}
	hi := int64(maxSeq)
	if q.Before > 0 {
		hi = q.Before - 1
	}
	page := MessagePage{Messages: []Message{}}
	if hi < q.After+1 {
		return page, nil
	}
	forward := q.After > 0
	list, err := s.store.History(ctx, ref.ID, q.After+1, hi, forward, limit)
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
		next := map[string]string{}
		if forward {
			next["a"] = strconv.FormatInt(list[len(list)-1].Seq, 10)
			if q.Before > 0 {
				next["b"] = strconv.FormatInt(q.Before, 10)
			}
		} else if list[0].Seq > 1 {
			next["b"] = strconv.FormatInt(list[0].Seq, 10)
		}
		if len(next) > 0 {
			if page.NextCursor, err = s.cursors.Encode(scope, cursorPage(next)); err != nil {
				return MessagePage{}, err
			}
		}
	}
	return page, nil
}

// ParseSeq reads a seq from a path or query string: a decimal 0..maxSeq.
func ParseSeq(field, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fieldErr(field, "%s must be an integer.", field)
	}
	if n < 0 || n > maxSeq {
		return 0, apierror.New(apierror.SeqOutOfRange, "%s is out of range.", field)
	}
	return n, nil
}

// Recall withdraws a message: its content is erased, its seq stays, and
// history and sync show it as recalled. The sender may recall within the
// recall window; group owners and admins, and admin tokens, at any time.
func (s *Service) Recall(ctx context.Context, p auth.Principal, convID string, seq int64) (Message, error) {
	return s.change(ctx, p, convID, seq, true, "")
}

// Edit replaces a message's text (the sender, or an admin token). The seq
// stays; the message carries edited_at.
func (s *Service) Edit(ctx context.Context, p auth.Principal, convID string, seq int64, text string) (Message, error) {
	if text == "" {
		return Message{}, fieldErr("text", "text must not be empty.")
	}
	if _, err := validateContent(text, nil); err != nil {
		return Message{}, err
	}
	return s.change(ctx, p, convID, seq, false, text)
}

func (s *Service) change(ctx context.Context, p auth.Principal, convID string, seq int64, recall bool, text string) (Message, error) {
	ref, err := ParseConversationID(convID)
	if err != nil {
		return Message{}, err
	}
	r, err := readerOf(p, "")
	if err != nil {
		return Message{}, err
	}
	v, err := s.readAccess(ctx, r, ref)
	if err != nil {
		return Message{}, err
	}
	if v.Meta.Closed {
		return Message{}, notFound("Conversation", ref.ID)
	}
	if seq < 1 || seq > v.Meta.LastSeq {
		return Message{}, apierror.New(apierror.SeqOutOfRange, "seq must be between 1 and %d.", v.Meta.LastSeq)
	}
	now := s.clock()
	ch := MessageChange{ConversationID: ref.ID, Seq: seq, Recall: recall, Text: text, At: now, By: r.id}
	moderator := r.admin || (recall && v.Member != nil && (v.Member.Role == RoleOwner || v.Member.Role == RoleAdmin))
	if !moderator {
		ch.RequireSender = r.id
		if recall {
			ch.NotBefore = now.Add(-s.cfg.RecallWindow)
		}
	}
	if !recall {
		cur, err := s.store.GetMessage(ctx, ref.ID, seq)
		if err != nil {
			return Message{}, err
		}
		if cur == nil {
			return Message{}, notFound("Message", seq)
		}
		edited := *cur
		edited.Text, edited.EditedAt = text, &now
		if err := checkEnvelope(edited); err != nil {
			return Message{}, err
		}
	}
	m, old, err := s.store.ChangeMessage(ctx, ch)
	if errors.Is(err, ErrConflict) {
		switch {
		case old == nil:
			return Message{}, notFound("Message", seq)
		case old.Recalled && recall:
			return *old, nil // recalling twice is harmless
		case old.Recalled:
			return Message{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
		case old.SenderID != r.id || old.SenderType != SenderUser:
			return Message{}, apierror.New(apierror.Forbidden, "Only the sender can change this message.")
		default:
			return Message{}, apierror.New(apierror.RecallWindowClosed, "Messages can be recalled within %s of sending.", s.cfg.RecallWindow)
		}
	}
	if err != nil {
		return Message{}, err
	}
	if seq == v.Meta.LastSeq {
		if err := s.store.SetPreview(ctx, ref.ID, seq, preview(m)); err != nil {
			return Message{}, err
		}
	}
	typ := EventMessageEdited
	if recall {
		typ = EventMessageRecalled
	}
	s.notify(ctx, Event{Type: typ, ConversationID: ref.ID, GroupID: ref.GroupID, Seq: seq, Actor: r.id, Message: &m})
	return m, nil
}
