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
