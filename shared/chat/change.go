package chat

// Recall and edit: a change to a stored message, appended as an event
// message at the next seq so sync delivers it without gaps.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
)

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
	return s.targetFor(ctx, p, convID, seq, false)
}

// changeTarget is target for a recall or an edit: a user holding the
// edit_any_message grant reaches the message in any conversation.
func (s *Service) changeTarget(ctx context.Context, p auth.Principal, convID string, seq int64) (target, error) {
	return s.targetFor(ctx, p, convID, seq, hasGrant(p, permissions.GrantEditAny))
}

func (s *Service) targetFor(ctx context.Context, p auth.Principal, convID string, seq int64, anywhere bool) (target, error) {
	ref, err := ParseConversationID(convID)
	if err != nil {
		return target{}, err
	}
	r, err := readerOf(p, "")
	if err != nil {
		return target{}, err
	}
	r.anywhere = anywhere
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
		return target{}, fieldErr("seq", "seq %d is a %s event: only messages can be recalled, edited or reacted to.", seq, m.Kind)
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
	t, err := s.changeTarget(ctx, p, convID, seq)
	if err != nil {
		return Message{}, err
	}
	if t.msg.Recalled {
		return t.msg, nil // recalling twice is harmless
	}
	now := s.clock()
	ch := MessageChange{ConversationID: t.ref.ID, Seq: seq, Recall: true, By: t.r.id}
	moderator := t.r.admin || t.r.anywhere || (t.member != nil && (t.member.Role == RoleOwner || t.member.Role == RoleAdmin))
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
	// Pushes before the head, as for a send (deliver): the backstop
	// finishes both if this invocation dies here.
	if applied {
		s.notify(ctx, Event{Type: EventMessageRecalled, ConversationID: t.ref.ID, GroupID: t.ref.GroupID, Seq: seq, Actor: t.r.id,
			Message: &m, EventSeq: ev.Seq, EventMessage: &ev})
	}
	// A recalled message is no longer pinned (one more UpdateItem, only
	// if it was).
	if err := s.unpinRecalled(ctx, t, m); err != nil {
		return Message{}, err
	}
	if err := s.store.AdvanceConversation(ctx, t.ref, ev, preview(ev)); err != nil {
		return Message{}, err
	}
	if applied {
		s.recordChange(ctx, p, t, "message.recall", ev.Seq)
	}
	return m, nil
}

// recordChange audits a recall or edit of someone else's message (by an
// admin token, a group owner or admin, or the edit_any_message grant).
func (s *Service) recordChange(ctx context.Context, p auth.Principal, t target, action string, eventSeq int64) {
	if t.sentByActor() {
		return
	}
	s.record(ctx, p, action, "message:"+messageRef(t.ref.ID, t.msg.Seq),
		map[string]audit.Change{"sender": {After: t.msg.SenderID}, "event_seq": {After: eventSeq}})
}

// Edit replaces a message's text (the sender, or an admin token). The seq
// stays; the message carries edited_at and is followed by an edit event
// with the new text. An edit to the text the message already has changes
// nothing and appends nothing (so a retried edit appends one event).
// The new text passes the send guards first, as a send's does
// (moderation, the pre-send hook: allowed, refused with their error, or
// rewritten; an edit keeps the message's payload, so only a rewritten
// text is stored).
//
// Cost: one BatchGetItem and one GetItem, PutItem claim + PutItem event +
// UpdateItem head (as a send), UpdateItem message; plus what the guards
// cost (the hook's call).
func (s *Service) Edit(ctx context.Context, p auth.Principal, convID string, seq int64, text string) (Message, error) {
	if text == "" {
		return Message{}, fieldErr("text", "text must not be empty.")
	}
	if _, err := validateContent(text, nil); err != nil {
		return Message{}, err
	}
	t, err := s.changeTarget(ctx, p, convID, seq)
	if err != nil {
		return Message{}, err
	}
	if t.msg.Recalled {
		return Message{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
	}
	if !t.r.admin && !t.r.anywhere && !t.sentByActor() {
		return Message{}, apierror.New(apierror.Forbidden, "Only the sender can edit this message.")
	}
	// One pass of the send guards (editguard.go): moderation, the rate
	// limit and the pre-send hook, which may rewrite the text.
	if text, err = s.screenEdit(ctx, p, t, text); err != nil {
		return Message{}, err
	}
	if t.msg.Text == text { // unchanged, or rewritten to what it says already (a retried edit)
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
	if !t.r.admin && t.sentByActor() {
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
	if applied {
		s.notify(ctx, Event{Type: EventMessageEdited, ConversationID: t.ref.ID, GroupID: t.ref.GroupID, Seq: seq, Actor: t.r.id,
			Message: &m, EventSeq: ev.Seq, EventMessage: &ev})
	}
	if err := s.store.AdvanceConversation(ctx, t.ref, ev, preview(ev)); err != nil {
		return Message{}, err
	}
	if applied {
		s.recordChange(ctx, p, t, "message.edit", ev.Seq)
	}
	return m, nil
}
