package chat

// Sending a message: who sends (sender), to which conversation (target), what
// it may hold (limits, payload), and the send path up to placing it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
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
	// MaxSeq is maxSeq for stores (the highest seq a key must hold).
	MaxSeq = maxSeq
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
	// ReplyTo quotes the message at that seq; ThreadRoot makes the message
	// a reply in the thread of the message at that seq (0: neither).
	ReplyTo    int64
	ThreadRoot int64
	// Mentions names members the message mentions, or MentionAll.
	Mentions []string
	// Attachments are uploads the sender made to this conversation
	// (attachment.go; checked by the attachments guard).
	Attachments []Attachment
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
// its data compacted. A message with attachments may have neither.
func validateContent(text string, pl *Payload, attachments ...Attachment) (*Payload, error) {
	if !utf8.ValidString(text) {
		return nil, fieldErr("text", "text must be valid UTF-8.")
	}
	if utf8.RuneCountInString(text) > MaxTextRunes {
		return nil, apierror.New(apierror.MessageTooLarge, "text exceeds %d characters.", MaxTextRunes).WithDetails(map[string]string{"field": "text"})
	}
	if pl == nil {
		if text == "" && len(attachments) == 0 {
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
	if m.Text == "" && len(m.Attachments) > 0 {
		return "[attachment]"
	}
	if utf8.RuneCountInString(m.Text) <= maxPreviewRunes {
		return m.Text
	}
	r := []rune(m.Text)
	return string(r[:maxPreviewRunes]) + "…"
}

func msgFingerprint(from sender, conv ConversationID, text string, pl *Payload, replyTo, threadRoot int64, mentions []string) string {
	parts := []any{from.system, from.id, conv, text, pl}
	if replyTo != 0 || threadRoot != 0 || len(mentions) > 0 {
		// Only then: a plain message keeps the fingerprint it always had,
		// so a retry across a deploy is still a retry.
		parts = append(parts, replyTo, threadRoot, mentions)
	}
	b, _ := json.Marshal(parts)
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
// and its proof of gaplessness: docs/data-model.md. Once the message is
// stored the send succeeds: its pushes and head are finished by the
// backstop if this invocation cannot (deliver).
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
	if err := validateAttachments(in.Attachments); err != nil {
		return Message{}, false, err
	}
	pl, err := validateContent(in.Text, in.Payload, in.Attachments...)
	if err != nil {
		return Message{}, false, err
	}
	now := s.clock()
	m := Message{ConversationID: ref.ID, MessageID: newID("m", now), Kind: KindMessage, ClientMsgID: in.ClientMsgID, SenderType: SenderUser,
		SenderID: from.id, Text: in.Text, Payload: pl, CreatedAt: now, Seq: maxSeq, ReplyTo: in.ReplyTo, ThreadRoot: in.ThreadRoot,
		Attachments: in.Attachments}
	if from.system {
		m.SenderType = SenderSystem
	}
	if m.ReplyTo != 0 {
		m.Quote = maxQuote // the envelope must hold the largest quote
	}
	if err := checkEnvelope(m); err != nil {
		return Message{}, false, err
	}
	m.Quote = nil // never stored: filled in when read

	meta, member, err := s.sendAccess(ctx, p, from, ref)
	if err != nil {
		return Message{}, false, err
	}
	rs, err := s.checkRefs(ctx, ref, meta, in)
	if err != nil {
		return Message{}, false, err
	}
	ment, err := s.checkMentions(ctx, ref, from, member, in.Mentions)
	if err != nil {
		return Message{}, false, err
	}
	m.Mentions = ment.list()
	// The fingerprint is the content the client sent: a guard's rewrite
	// must not turn a retry into idempotency_key_reused.
	m.Fingerprint = withAttachments(msgFingerprint(from, ref.ID, m.Text, m.Payload, m.ReplyTo, m.ThreadRoot, m.Mentions), m.Attachments)
	check := SendCheck{Principal: p, SenderID: from.id, System: from.system, Conversation: ref,
		ClientMsgID: in.ClientMsgID, Attempt: newID("a", now), Content: SendContent{Text: m.Text, Payload: m.Payload, Attachments: m.Attachments}}
	if s.guard != nil {
		out, err := s.guard.CheckSend(ctx, check)
		if err != nil {
			return Message{}, false, err
		}
		if m.Payload, err = validateContent(out.Text, out.Payload, m.Attachments...); err != nil {
			releaseRefused(ctx, s.guard, check, err)
			return Message{}, false, err
		}
		m.Text = out.Text
		if m.ReplyTo != 0 {
			m.Quote = maxQuote
		}
		err = checkEnvelope(m)
		m.Quote = nil
		if err != nil {
			releaseRefused(ctx, s.guard, check, err)
			return Message{}, false, err
		}
	}
	if meta == nil { // a DM's first message: create both entries first
		if err := s.store.EnsureDMEntries(ctx, ref, now); err != nil {
			releaseRefused(ctx, s.guard, check, err)
			return Message{}, false, err
		}
	}
	var last, lastCount int64
	if meta != nil {
		last, lastCount = meta.LastSeq, meta.LastCount
	}
	m.Seq, m.Count = last+1, CountAfter(last, lastCount, KindMessage)

	claimKey := ""
	if in.ClientMsgID != "" {
		claimKey = from.claimScope() + "#" + in.ClientMsgID
	}
	stored, created, err := s.put(ctx, m, claimKey)
	if apierror.Is(err, apierror.IdempotencyKeyReused) {
		s.releaseReused(ctx, check, claimKey)
		return Message{}, false, err
	}
	if err != nil {
		releaseRefused(ctx, s.guard, check, err)
		return Message{}, false, err
	}
	if created && sentByGrant(p, ref, meta, member) {
		s.record(ctx, p, "message.send_any_group", groupTarget(ref.GroupID),
			map[string]audit.Change{"message": {After: messageRef(ref.ID, stored.Seq)}})
	}
	if rs.quoted != nil && stored.ReplyTo == rs.quoted.Seq {
		stored.Quote = quoteOf(*rs.quoted)
	}
	s.deliver(ctx, ref, meta, stored, created)
	return stored, created, nil
}

// deliver pushes a stored message, then advances the head. From here on
// nothing fails the send: the message is durable, and the ack must say so
// (a client that retried would only get it back). Pushes come before the
// head, so a head at or past a message means it was pushed; whatever an
// invocation that dies or fails here leaves undone, the backstop
// (backstop.go) finishes within the delivery bound.
//
// A retry (created=false) whose head had not reached the message when the
// send began finishes the first attempt's work: it pushes again (clients
// drop a duplicate by seq) and advances the head. One whose head had
// reached it does nothing more.
func (s *Service) deliver(ctx context.Context, ref ConvRef, meta *ConvMeta, m Message, created bool) {
	if !created && meta != nil && meta.LastSeq >= m.Seq {
		return
	}
	// A thread reply updates its root, and mentions the mentioned
	// entries, before the push, so a head at or past the message means
	// they are done; if that fails, the backstop does it all.
	if err := s.recordExtras(ctx, m); err != nil {
		s.log.WarnContext(ctx, "message stored, thread or mentions not recorded: the backstop records them", "conversation_id", ref.ID, "seq", m.Seq, "error", err)
		return
	}
	// A delivery that failed for some recipient (throttled, timed out, a
	// lookup that failed) leaves the head behind: the backstop pushes
	// again. Recipients who got it drop the duplicate by seq.
	if err := s.notifyDelivered(ctx, Event{Type: EventMessageCreated, ConversationID: ref.ID, GroupID: ref.GroupID, Seq: m.Seq, Actor: m.SenderID, Message: &m}); err != nil {
		s.log.WarnContext(ctx, "message stored, not pushed to every recipient: the backstop pushes it again", "conversation_id", ref.ID, "seq", m.Seq, "error", err)
		return
	}
	if err := s.store.AdvanceConversation(ctx, ref, m, preview(m)); err != nil {
		s.log.WarnContext(ctx, "message stored, head not advanced: the backstop reveals it", "conversation_id", ref.ID, "seq", m.Seq, "error", err)
	}
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
