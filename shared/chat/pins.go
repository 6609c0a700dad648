package chat

// Pinned messages: up to MaxPins messages per conversation, listed on the
// conversation (its head holds them, so lists and syncs read them at no
// extra request) and announced by a push (docs/data-model.md, "Pins").

import (
	"context"
	"errors"
	"slices"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// MaxPins is how many messages a conversation may have pinned at once.
const MaxPins = 10

// PinState is a conversation's pins after a pin or unpin.
type PinState struct {
	ConversationID ConversationID `json:"conversation_id"`
	Pinned         []Pin          `json:"pinned"`
}

// Pin pins (or, with unpin, unpins) the message at seq. In a group the
// owner and admins may, in a DM either participant, and admin tokens
// anywhere. A recalled message cannot be pinned (message_recalled), nor
// an 11th (pin_limit). Pinning a pinned message, or unpinning one that is
// not, changes nothing and pushes nothing. Recalling a pinned message
// unpins it.
//
// Cost: one BatchGetItem and one GetItem (access, the message), one
// UpdateItem of the head, and the push.
func (s *Service) Pin(ctx context.Context, p auth.Principal, convID string, seq int64, unpin bool) (PinState, error) {
	t, err := s.target(ctx, p, convID, seq)
	if err != nil {
		return PinState{}, err
	}
	if t.ref.Kind == KindGroup && !t.r.admin && (t.member == nil || (t.member.Role != RoleOwner && t.member.Role != RoleAdmin)) {
		return PinState{}, apierror.New(apierror.Forbidden, "Only the group's owner and admins can pin and unpin messages.")
	}
	st := PinState{ConversationID: t.ref.ID, Pinned: orEmpty(t.meta.Pins)}
	pinned := slices.ContainsFunc(t.meta.Pins, func(x Pin) bool { return x.Seq == seq })
	if pinned != unpin {
		return st, nil // already so
	}
	if unpin {
		if st.Pinned, err = s.store.UnpinMessage(ctx, t.ref.ID, seq); err != nil {
			return PinState{}, err
		}
		st.Pinned = orEmpty(st.Pinned)
		s.notifyPin(ctx, t, EventMessageUnpinned, t.msg)
		s.recordPin(ctx, p, t, "message.unpin")
		return st, nil
	}
	if t.msg.Recalled {
		return PinState{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
	}
	st.Pinned, err = s.store.PinMessage(ctx, t.ref.ID, Pin{Seq: seq, PinnedBy: t.r.id, PinnedAt: s.clock()}, MaxPins)
	if errors.Is(err, ErrConflict) {
		return PinState{}, apierror.New(apierror.PinLimit, "A conversation can have at most %d pinned messages: unpin one first.", MaxPins).
			WithDetails(map[string]int{"max": MaxPins})
	}
	if err != nil {
		return PinState{}, err
	}
	s.notifyPin(ctx, t, EventMessagePinned, t.msg)
	s.recordPin(ctx, p, t, "message.pin")
	return st, nil
}

// recordPin audits an admin token's pin or unpin (a group owner's or
// admin's, or a DM participant's, is not: ordinary management of their
// own conversation).
func (s *Service) recordPin(ctx context.Context, p auth.Principal, t target, action string) {
	if t.r.admin {
		s.record(ctx, p, action, "message:"+messageRef(t.ref.ID, t.msg.Seq), nil)
	}
}

// notifyPin pushes a pin or unpin with the message as it stands (m: the
// target's, or the recalled message when a recall unpins it).
func (s *Service) notifyPin(ctx context.Context, t target, typ EventType, m Message) {
	m = forReader(m, "")
	m.Reactors = nil
	s.notify(ctx, Event{Type: typ, ConversationID: t.ref.ID, GroupID: t.ref.GroupID, Seq: m.Seq, Actor: t.r.id, Message: &m})
}

// unpinRecalled unpins a message just recalled (recalled), if it was
// pinned.
func (s *Service) unpinRecalled(ctx context.Context, t target, recalled Message) error {
	if !slices.ContainsFunc(t.meta.Pins, func(x Pin) bool { return x.Seq == t.msg.Seq }) {
		return nil
	}
	if _, err := s.store.UnpinMessage(ctx, t.ref.ID, t.msg.Seq); err != nil {
		return err
	}
	s.notifyPin(ctx, t, EventMessageUnpinned, recalled)
	return nil
}

func orEmpty(ps []Pin) []Pin {
	if ps == nil {
		return []Pin{}
	}
	return ps
}
