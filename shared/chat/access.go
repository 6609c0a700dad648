package chat

// Who may post to and read a conversation: one read of the head and the
// caller's membership or peer entry per request.

import (
	"context"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/users"
)

// sendAccess loads the head and the sender's membership (a group) or the
// peer's existence (a DM; the head is nil for a DM without messages yet),
// and refuses a sender who may not post. One BatchGetItem.
func (s *Service) sendAccess(ctx context.Context, p auth.Principal, from sender, ref ConvRef) (*ConvMeta, *Member, error) {
	q := ConvQuery{ID: ref.ID}
	switch ref.Kind {
	case KindDM:
		if !from.system && !ref.Has(from.id) {
			return nil, nil, notFound("Conversation", ref.ID)
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
		return nil, nil, err
	}
	if p.IsAdmin() && !from.system {
		// An admin sending as a user: that user must exist too.
		if err := s.requireUsers(ctx, []string{from.id}); err != nil {
			return nil, nil, err
		}
	}
	switch ref.Kind {
	case KindDM:
		if from.system {
			if v.Meta == nil {
				return nil, nil, notFound("Conversation", ref.ID)
			}
			return v.Meta, v.Member, nil
		}
		if !v.UserExists {
			return nil, nil, apierror.New(apierror.NotFound, "User %q was not found.", ref.Peer(from.id))
		}
		return v.Meta, v.Member, nil
	default:
		if v.Meta == nil || v.Meta.Closed {
			return nil, nil, notFound("Group", ref.GroupID)
		}
		// The post_any_group grant: a moderator speaks in any group,
		// member or not, muted or not.
		if err := memberMaySend(ref, v.Meta, v.Member); err != nil && !from.system && !postsAnywhere(p) {
			return nil, nil, err
		}
		return v.Meta, v.Member, nil
	}
}

// memberMaySend is a group's rule for a user sender: a member, not muted,
// and an owner or admin while the whole group is muted.
func memberMaySend(ref ConvRef, meta *ConvMeta, member *Member) error {
	switch {
	case member == nil:
		return notFound("Group", ref.GroupID)
	case member.Muted:
		return apierror.New(apierror.Muted, "You are muted in this group.")
	case meta.MutedAll && member.Role != RoleOwner && member.Role != RoleAdmin:
		return apierror.New(apierror.GroupMuted, "The group is muted: only its owner and admins can send.")
	}
	return nil
}

// reader is whoever reads a conversation: a user, or an admin token
// (which reads everything).
type reader struct {
	admin bool
	id    string
	// anywhere: the edit_any_message grant lets this user reach any
	// conversation to change others' messages (change.go only).
	anywhere bool
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
	if ref.Kind == KindDM && r.id != "" && !ref.Has(r.id) && !r.anywhere {
		return ConvView{}, notFound("Conversation", ref.ID)
	}
	if ref.Kind == KindGroup && r.id != "" {
		q.MemberOf, q.Member = ref.GroupID, r.id
	}
	v, err := s.store.ReadConversation(ctx, q)
	if err != nil {
		return ConvView{}, err
	}
	if v.Meta == nil && ref.Kind == KindDM {
		if v.Meta, err = s.headlessDM(ctx, r, ref); err != nil {
			return ConvView{}, err
		}
	}
	if v.Meta == nil || (v.Meta.Closed && !r.admin) || (ref.Kind == KindGroup && r.id != "" && v.Member == nil && !r.anywhere) {
		return ConvView{}, notFound("Conversation", ref.ID)
	}
	return v, nil
}

// headlessDM is the head of a DM whose first message is stored but whose
// head is not written yet (its sender's invocation died before it; the
// backstop writes it within the delivery bound): the DM exists once its
// entries do, and its history must show the message at once. One extra
// read, on this rare path only.
func (s *Service) headlessDM(ctx context.Context, r reader, ref ConvRef) (*ConvMeta, error) {
	uid := r.id
	if uid == "" || !ref.Has(uid) {
		uid = ref.A
	}
	es, err := s.store.GetEntries(ctx, []EntryKey{{UserID: uid, ConversationID: ref.ID}})
	if err != nil || len(es) == 0 {
		return nil, err
	}
	return &ConvMeta{ID: ref.ID, Kind: KindDM, A: ref.A, B: ref.B}, nil
}

// postsAnywhere reports whether p sends in groups by the post_any_group
// grant rather than by membership (a user token only: an admin token
// sending as a user sends with that user's rights).
func postsAnywhere(p auth.Principal) bool { return hasGrant(p, permissions.GrantPostAnyGroup) }

// sentByGrant reports whether a group send was allowed only by the grant
// (the sender is not a member, is muted, or the group is): those sends
// are audited.
func sentByGrant(p auth.Principal, ref ConvRef, meta *ConvMeta, member *Member) bool {
	return ref.Kind == KindGroup && meta != nil && postsAnywhere(p) && memberMaySend(ref, meta, member) != nil
}
