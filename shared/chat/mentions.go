package chat

// Mentions: a message names members it mentions (or @all in a group), and
// each mentioned member's conversation shows its unread mentions - a count
// and the first one's seq - until read (docs/data-model.md, "Mentions").

import (
	"context"
	"slices"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

const (
	// MentionAll in mentions mentions every member of a group. It cannot
	// be a user id: ids start with a letter or a digit.
	MentionAll = "@all"
	// MaxMentions bounds the users one message mentions: each costs a
	// write to the user's entry.
	MaxMentions = 20
	// MaxMentionAllKept is how many of the newest @all messages a
	// conversation's head keeps; a member who has not read that far sees
	// the count cap there.
	MaxMentionAllKept = 20
)

// mentioned is what a send's mentions name, checked.
type mentioned struct {
	users []string // members, without duplicates, in the order given
	all   bool
}

func (m mentioned) list() []string {
	if !m.all {
		return m.users
	}
	return append(slices.Clone(m.users), MentionAll)
}

// checkMentions validates mentions: ids of the conversation's members
// (a DM's participants, a group's members: one BatchGetItem, only when
// the message mentions someone), and @all in a group by its owner or an
// admin (or the system). member is the sender's membership as read.
func (s *Service) checkMentions(ctx context.Context, ref ConvRef, from sender, member *Member, ids []string) (mentioned, error) {
	var out mentioned
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > MaxMentions+1 {
		return out, fieldErr("mentions", "mentions may name at most %d users, and @all.", MaxMentions)
	}
	for _, id := range ids {
		if id == MentionAll {
			out.all = true
			continue
		}
		if err := users.ValidateID("mentions", id); err != nil {
			return mentioned{}, err
		}
		if !slices.Contains(out.users, id) {
			out.users = append(out.users, id)
		}
	}
	if len(out.users) > MaxMentions {
		return mentioned{}, fieldErr("mentions", "mentions may name at most %d users, and @all.", MaxMentions)
	}
	if out.all {
		if ref.Kind != KindGroup {
			return mentioned{}, fieldErr("mentions", "@all is for groups.")
		}
		if !from.system && (member == nil || (member.Role != RoleOwner && member.Role != RoleAdmin)) {
			return mentioned{}, apierror.New(apierror.Forbidden, "Only the group's owner and admins can mention @all.")
		}
	}
	if len(out.users) == 0 {
		return out, nil
	}
	if ref.Kind == KindDM {
		for _, id := range out.users {
			if id != ref.A && id != ref.B {
				return mentioned{}, fieldErr("mentions", "%q is not in this conversation: only its members can be mentioned.", id)
			}
		}
		return out, nil
	}
	found, err := s.store.GetMembers(ctx, ref.GroupID, out.users)
	if err != nil {
		return mentioned{}, err
	}
	for _, id := range out.users {
		if _, ok := found[id]; !ok {
			return mentioned{}, fieldErr("mentions", "%q is not a member of this group: only members can be mentioned.", id)
		}
	}
	return out, nil
}

// recordMentions records a stored message's mentions on the mentioned
// members' entries and, for @all, on the head. The sender's own mention
// is not recorded. Idempotent (a retry or the backstop records it once).
func (s *Service) recordMentions(ctx context.Context, m Message) error {
	if len(m.Mentions) == 0 || m.Kind != KindMessage {
		return nil
	}
	var us []string
	all := false
	for _, id := range m.Mentions {
		switch {
		case id == MentionAll:
			all = true
		case id != m.SenderID:
			us = append(us, id)
		}
	}
	if len(us) == 0 && !all {
		return nil
	}
	return s.store.RecordMentions(ctx, m.ConversationID, m.Seq, us, all)
}

// recordExtras does what a stored message needs besides its push and head:
// its thread's count and its mentions. It runs before the push, so a head
// at or past a message means they are done (deliver, the backstop).
func (s *Service) recordExtras(ctx context.Context, m Message) error {
	if err := s.recordThread(ctx, m); err != nil {
		return err
	}
	return s.recordMentions(ctx, m)
}

// unreadMentions are the seqs mentioning the reader (its own or @all)
// after its read position, up to the last seq: their count and the first.
func unreadMentions(meta ConvMeta, e Entry) (int64, int64) {
	var n, first int64
	seen := map[int64]bool{}
	for _, s := range append(slices.Clone(e.Mentions), meta.MentionAll...) {
		if s <= e.ReadSeq || s > meta.LastSeq || seen[s] {
			continue
		}
		seen[s] = true
		n++
		if first == 0 || s < first {
			first = s
		}
	}
	return n, first
}
