package chat

// Group membership: adding, removing, roles and mutes, ownership, listing.

import (
	"context"
	"errors"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/users"
)

// AddResult tells which users an add-members call added and which were
// members already (adding a member twice is not an error).
type AddResult struct {
	Added   []string `json:"added"`
	Already []string `json:"already_members"`
}

// AddMembers adds users to a group (owner, group admins, admin tokens).
func (s *Service) AddMembers(ctx context.Context, p auth.Principal, gid string, ids []string) (AddResult, error) {
	if len(ids) == 0 || len(ids) > MaxMembersPerCall {
		return AddResult{}, fieldErr("user_ids", "user_ids must hold 1 to %d ids.", MaxMembersPerCall)
	}
	clean, err := cleanIDs("user_ids", ids, "")
	if err != nil {
		return AddResult{}, err
	}
	a, err := s.groupAccess(ctx, p, gid)
	if err != nil {
		return AddResult{}, err
	}
	if !a.manager() {
		return AddResult{}, apierror.New(apierror.Forbidden, "Only the owner and group admins can add members.")
	}
	if err := s.requireUsers(ctx, clean); err != nil {
		return AddResult{}, err
	}
	res, err := s.addMembers(ctx, a.group, "", clean)
	if err != nil {
		return AddResult{}, err
	}
	if len(res.Added) > 0 {
		s.notify(ctx, Event{Type: EventMembersAdded, ConversationID: a.group.ConversationID, GroupID: gid, Actor: actorID(p), Users: res.Added})
		if a.admin {
			s.record(ctx, p, "group.members_add", groupTarget(gid), map[string]audit.Change{"members": {After: res.Added}})
		}
	}
	return res, nil
}

// addMembers adds those of ids who are not members yet, retrying when a
// concurrent change cancels the transaction. New members start with
// everything so far read.
func (s *Service) addMembers(ctx context.Context, g Group, skip string, ids []string) (AddResult, error) {
	var res AddResult
	for attempt := 0; ; attempt++ {
		existing, err := s.store.GetMembers(ctx, g.GroupID, ids)
		if err != nil {
			return AddResult{}, err
		}
		res = AddResult{Added: []string{}, Already: []string{}}
		var add []Member
		now := s.clock()
		for _, id := range ids {
			if _, ok := existing[id]; ok || id == skip {
				res.Already = append(res.Already, id)
				continue
			}
			res.Added = append(res.Added, id)
			add = append(add, Member{GroupID: g.GroupID, UserID: id, Role: RoleMember, JoinedAt: now})
		}
		if len(add) == 0 {
			return res, nil
		}
		view, err := s.store.ReadConversation(ctx, ConvQuery{ID: g.ConversationID})
		if err != nil {
			return AddResult{}, err
		}
		var read ReadMark // new members start with nothing unread
		if view.Meta != nil {
			read = ReadMark{Seq: view.Meta.LastSeq, Count: view.Meta.LastCount}
		}
		err = s.store.AddMembers(ctx, g.GroupID, add, s.cfg.MaxGroupMembers, read)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return AddResult{}, err
		}
		return res, nil
	}
}

// RemoveMember removes uid from the group. Users may remove themselves
// (leave); the owner removes anyone, group admins remove plain members,
// admin tokens anyone; nobody removes the owner (transfer first).
func (s *Service) RemoveMember(ctx context.Context, p auth.Principal, gid, uid string) error {
	if err := users.ValidateID("user_id", uid); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		a, err := s.moderationAccess(ctx, p, gid, uid)
		if err != nil {
			return err
		}
		target, ok := a.members[uid]
		if !ok {
			return notFound("Member", uid)
		}
		self := a.self != nil && a.self.UserID == uid
		byGrant := false
		switch {
		case target.Role == RoleOwner:
			return apierror.New(apierror.LastOwner, "The owner cannot leave or be removed; transfer ownership or dissolve the group.")
		case a.admin, self, a.role() == RoleOwner:
		case a.role() == RoleAdmin && target.Role == RoleMember:
		case a.muteKick:
			byGrant = true
		default:
			return apierror.New(apierror.Forbidden, "Only the owner removes admins; admins remove members.")
		}
		err = s.store.RemoveMember(ctx, gid, uid, target.Role)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue // the target's role changed, or it left: re-check
		}
		if err != nil {
			return err
		}
		s.notify(ctx, Event{Type: EventMemberRemoved, ConversationID: a.group.ConversationID, GroupID: gid, Actor: actorID(p), Users: []string{uid}})
		if a.admin || byGrant {
			s.record(ctx, p, "group.member_remove", groupTarget(gid), map[string]audit.Change{"member": {Before: uid}})
		}
		return nil
	}
}

// Leave removes the calling user from the group.
func (s *Service) Leave(ctx context.Context, p auth.Principal, gid string) error {
	uid, err := p.User()
	if err != nil {
		return err
	}
	return s.RemoveMember(ctx, p, gid, uid)
}

// MemberUpdate changes a member's role and/or mute state.
type MemberUpdate struct {
	Role  *Role
	Muted *bool
}

// UpdateMember changes a member's role (owner or admin token; role
// "owner" transfers ownership) or mutes/unmutes it (owner, group admins
// for plain members, admin tokens).
func (s *Service) UpdateMember(ctx context.Context, p auth.Principal, gid, uid string, u MemberUpdate) (Member, error) {
	if err := users.ValidateID("user_id", uid); err != nil {
		return Member{}, err
	}
	if u.Role != nil && !u.Role.valid() {
		return Member{}, fieldErr("role", "role must be owner, admin or member.")
	}
	if u.Role != nil && *u.Role == RoleOwner {
		if u.Muted != nil {
			return Member{}, fieldErr("muted", "Transferring ownership cannot be combined with muting.")
		}
		if _, err := s.TransferOwnership(ctx, p, gid, uid); err != nil {
			return Member{}, err
		}
		m, err := s.store.GetMembers(ctx, gid, []string{uid})
		if err != nil {
			return Member{}, err
		}
		return m[uid], nil
	}
	for attempt := 0; ; attempt++ {
		a, err := s.groupAccessAs(ctx, p, gid, u.Muted != nil && hasGrant(p, permissions.GrantMuteKickAny), uid)
		if err != nil {
			return Member{}, err
		}
		target, ok := a.members[uid]
		if !ok {
			return Member{}, notFound("Member", uid)
		}
		byGrant := false
		if u.Role != nil && *u.Role != target.Role {
			if !a.admin && a.role() != RoleOwner {
				return Member{}, apierror.New(apierror.Forbidden, "Only the owner changes roles.")
			}
			if target.Role == RoleOwner {
				return Member{}, apierror.New(apierror.LastOwner, "The owner cannot be demoted; transfer ownership instead.")
			}
		}
		if u.Muted != nil {
			switch {
			case a.admin, a.role() == RoleOwner:
			case a.role() == RoleAdmin && (target.Role == RoleMember || uid == a.self.UserID):
			case a.muteKick && target.Role != RoleOwner:
				byGrant = true // mute_kick_any: anyone but the owner, in any group
			case a.muteKick:
				return Member{}, apierror.New(apierror.Forbidden, "The owner cannot be muted.")
			case a.role() == RoleAdmin:
				return Member{}, apierror.New(apierror.Forbidden, "Group admins can mute only plain members.")
			default:
				return Member{}, apierror.New(apierror.Forbidden, "Only the owner and group admins can mute members.")
			}
		}
		if u.Role == nil && u.Muted == nil {
			return target, nil
		}
		m, err := s.store.UpdateMember(ctx, gid, uid, target.Role, u.Role, u.Muted)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return Member{}, err
		}
		s.notify(ctx, Event{Type: EventMemberUpdated, ConversationID: a.group.ConversationID, GroupID: gid, Actor: actorID(p), Users: []string{uid}})
		if a.admin || byGrant {
			s.record(ctx, p, "group.member_update", groupTarget(gid), memberChanges(uid, target, m))
		}
		return m, nil
	}
}

// TransferOwnership makes uid (a member) the owner; the old owner becomes
// an admin. Owner or admin tokens only.
func (s *Service) TransferOwnership(ctx context.Context, p auth.Principal, gid, uid string) (Group, error) {
	if err := users.ValidateID("user_id", uid); err != nil {
		return Group{}, err
	}
	for attempt := 0; ; attempt++ {
		a, err := s.groupAccess(ctx, p, gid, uid)
		if err != nil {
			return Group{}, err
		}
		if !a.admin && a.role() != RoleOwner {
			return Group{}, apierror.New(apierror.Forbidden, "Only the owner can transfer ownership.")
		}
		if _, ok := a.members[uid]; !ok {
			return Group{}, notFound("Member", uid)
		}
		if uid == a.group.OwnerID {
			return a.group, nil
		}
		err = s.store.TransferOwner(ctx, gid, a.group.OwnerID, uid, s.clock())
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return Group{}, err
		}
		s.notify(ctx, Event{Type: EventOwnerChanged, ConversationID: a.group.ConversationID, GroupID: gid, Actor: actorID(p),
			Users: []string{a.group.OwnerID, uid}})
		if a.admin {
			s.record(ctx, p, "group.transfer", groupTarget(gid), map[string]audit.Change{"owner": {Before: a.group.OwnerID, After: uid}})
		}
		return s.liveGroup(ctx, gid)
	}
}

// MemberPage is one page of members.
type MemberPage struct {
	Members    []Member `json:"members"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// MaxPageSize bounds every listing of this package.
const MaxPageSize = 100

func pageLimit(limit int) (int, error) {
	if limit == 0 {
		return 50, nil
	}
	if limit < 1 || limit > MaxPageSize {
		return 0, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxPageSize)
	}
	return limit, nil
}

// storeCursor is the state of a listing the store pages: its opaque token.
type storeCursor struct {
	Page []byte `json:"p"`
}

// ListMembers pages through a group's members (members and admin tokens).
func (s *Service) ListMembers(ctx context.Context, p auth.Principal, gid string, limit int, token string) (MemberPage, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return MemberPage{}, err
	}
	scope := "members:" + gid
	var start storeCursor
	if err := s.cursors.Decode(scope, token, &start); err != nil {
		return MemberPage{}, err
	}
	if _, err := s.groupAccess(ctx, p, gid); err != nil {
		return MemberPage{}, err
	}
	list, next, err := s.store.ListMembers(ctx, gid, limit, start.Page)
	if err != nil {
		return MemberPage{}, err
	}
	out := MemberPage{Members: list}
	if len(next) > 0 {
		if out.NextCursor, err = s.cursors.Encode(scope, storeCursor{Page: next}); err != nil {
			return MemberPage{}, err
		}
	}
	return out, nil
}
