package chat

// Reactions: a user adds or removes an emoji on a message. A reaction
// changes the message in place and takes no seq; online members get a
// message.reaction push, and everyone reads the counts with the message
// (history, sync, threads). docs/data-model.md, "Reactions".

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// Reaction limits. They bound the message item: at most 20 counters, and
// per reacting user one set of at most 5 short emojis (~100 B), so a group
// of 1,000 members reacting to one message keeps it near 100 KB.
const (
	DefaultMaxReactionKinds   = 20 // distinct emojis per message
	DefaultMaxReactionsByUser = 5  // emojis per user per message
	MaxEmojiBytes             = 32 // one emoji, however many code points
)

// Reaction event operations (Event.Reaction.Op).
const (
	ReactionAdded   = "added"
	ReactionRemoved = "removed"
)

// ReactionEvent is what a message.reaction event says changed.
type ReactionEvent struct {
	Emoji string `json:"emoji"`
	Op    string `json:"op"`
}

// validEmoji accepts one short token of UTF-8 without spaces or control
// characters: any emoji (with skin tones, ZWJ sequences, flags) or an
// app's own short code such as ":party:".
func validEmoji(e string) error {
	if e == "" || len(e) > MaxEmojiBytes || !utf8.ValidString(e) {
		return fieldErr("emoji", "emoji must be 1 to %d bytes of UTF-8.", MaxEmojiBytes)
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fieldErr("emoji", "emoji must not contain spaces or control characters.")
		}
	}
	return nil
}

// React adds (or, with remove, removes) the caller's emoji reaction to the
// message at seq and returns the message with its counts and the caller's
// own reactions. Adding a reaction the caller has, or removing one it has
// not, changes nothing and is not an error. A recalled message takes no
// new reaction (message_recalled); a muted group member cannot react.
//
// Cost: one BatchGetItem and one GetItem (access, the message), one
// UpdateItem (+1 when the last reactor of an emoji leaves; none when
// nothing changes), and the push.
func (s *Service) React(ctx context.Context, p auth.Principal, convID string, seq int64, emoji string, remove bool) (Message, error) {
	if err := validEmoji(emoji); err != nil {
		return Message{}, err
	}
	if p.IsAdmin() {
		return Message{}, apierror.New(apierror.Forbidden, "Reactions are a user's: use the user's token.")
	}
	t, err := s.target(ctx, p, convID, seq)
	if err != nil {
		return Message{}, err
	}
	uid := t.r.id
	if slices.Contains(t.msg.Reactors[uid], emoji) != remove && !t.msg.Recalled {
		return forReader(t.msg, uid), nil // already so: nothing to write
	}
	if !remove {
		if t.member != nil && t.member.Muted {
			return Message{}, apierror.New(apierror.Muted, "You are muted in this group.")
		}
		if t.msg.Recalled {
			return Message{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
		}
		if err := s.screenReaction(ctx, p, t); err != nil {
			return Message{}, err
		}
	}
	ch := ReactionChange{ConversationID: t.ref.ID, Seq: seq, UserID: uid, Emoji: emoji, Remove: remove,
		MaxKinds: s.cfg.MaxReactionKinds, MaxPerUser: s.cfg.MaxReactionsByUser}
	m, old, err := s.store.React(ctx, ch)
	if errors.Is(err, ErrConflict) {
		if old == nil {
			return Message{}, notFound("Message", seq)
		}
		return s.reactionRefused(*old, ch)
	}
	if err != nil {
		return Message{}, err
	}
	op := ReactionAdded
	if remove {
		op = ReactionRemoved
	}
	pushed := m
	pushed.Reactors = nil
	s.notify(ctx, Event{Type: EventMessageReaction, ConversationID: t.ref.ID, GroupID: t.ref.GroupID, Seq: seq, Actor: uid,
		Message: &pushed, Reaction: &ReactionEvent{Emoji: emoji, Op: op}})
	return forReader(m, uid), nil
}

// reactionRefused tells why a reaction change failed its conditions, from
// the message as it stands: nothing to do, or a rule.
func (s *Service) reactionRefused(old Message, ch ReactionChange) (Message, error) {
	mine := old.Reactors[ch.UserID]
	has := slices.Contains(mine, ch.Emoji)
	switch {
	case ch.Remove && !has, !ch.Remove && has && !old.Recalled:
		return forReader(old, ch.UserID), nil // already so
	case old.Recalled:
		return Message{}, apierror.New(apierror.MessageRecalled, "The message was recalled.")
	case old.Kind != KindMessage:
		return Message{}, fieldErr("seq", "seq %d is a %s event: only messages take reactions.", old.Seq, old.Kind)
	case len(mine) >= ch.MaxPerUser:
		return Message{}, apierror.New(apierror.ReactionLimit, "You have %d reactions on this message, the most allowed.", ch.MaxPerUser).
			WithDetails(map[string]any{"limit": "per_user", "max": ch.MaxPerUser})
	case len(old.Reactions) >= ch.MaxKinds:
		return Message{}, apierror.New(apierror.ReactionLimit, "This message has %d different reactions, the most allowed.", ch.MaxKinds).
			WithDetails(map[string]any{"limit": "distinct", "max": ch.MaxKinds})
	}
	return Message{}, fmt.Errorf("chat: react: message %d changed against its checks", old.Seq)
}

// forReader is m as reader sees it: its own reactions, and no reactions
// on a recalled message.
func forReader(m Message, reader string) Message {
	if m.Recalled {
		m.Reactions = nil
	}
	m.MyReactions = nil
	if !m.Recalled && reader != "" {
		m.MyReactions = m.Reactors[reader]
	}
	return m
}

// forReaderAll applies forReader to every message of a page.
func forReaderAll(msgs []Message, reader string) {
	for i := range msgs {
		msgs[i] = forReader(msgs[i], reader)
	}
}
