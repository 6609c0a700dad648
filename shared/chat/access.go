package chat

// Who may post to and read a conversation: one read of the head and the
// caller's membership or peer entry per request.

import (
	"context"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/users"
)

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
