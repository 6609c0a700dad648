package chat

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/idempotency"
	"github.com/tokenim/tokenim/shared/ratelimit"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/users"
)

// Group limits (docs/openapi.yaml).
const (
	MaxGroupNameRunes = 128
	// MaxMembersPerCall bounds one add-members call (and the ids a handler
	// accepts); CreateGroup takes up to the group cap.
	MaxMembersPerCall = 100
)

// CreateGroupInput is a new group. It is the contract batch import uses
// too: keep it stable.
type CreateGroupInput struct {
	// GroupID is client-chosen (users.IDPattern) or, when empty, generated
	// (derived from IdempotencyKey when one is given, so retries agree).
	GroupID string
	// OwnerID is required with an admin token; a user token creates as
	// itself (OwnerID empty or the caller's id).
	OwnerID   string
	Name      string
	AvatarURL string
	Metadata  map[string]string
	// Members are the initial members besides the owner (duplicates and the
	// owner are ignored); each must be an existing user.
	Members []string
	// IdempotencyKey makes the call safe to retry: a retry with the same
	// key and input returns the group (created=false) and finishes adding
	// any members a failed attempt did not add.
	IdempotencyKey string
}

// CreateGroup creates a group; the owner becomes its first member and its
// conversation (last seq 0) exists from then on. It reports whether this
// call created the group.
func (s *Service) CreateGroup(ctx context.Context, p auth.Principal, in CreateGroupInput) (Group, bool, error) {
	owner := in.OwnerID
	if p.IsAdmin() {
		if owner == "" {
			return Group{}, false, fieldErr("owner_id", "owner_id is required with an admin token.")
		}
	} else {
		uid, err := p.User()
		if err != nil {
			return Group{}, false, err
		}
		if owner != "" && owner != uid {
			return Group{}, false, apierror.New(apierror.Forbidden, "A user token may create groups only with itself as owner.")
		}
		owner = uid
	}
	if err := users.ValidateID("owner_id", owner); err != nil {
		return Group{}, false, err
	}
	if err := validateGroupFields(&in.Name, &in.AvatarURL, &in.Metadata); err != nil {
		return Group{}, false, err
	}
	if in.IdempotencyKey != "" {
		if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
			return Group{}, false, err
		}
	}
	members, err := cleanIDs("members", in.Members, owner)
	if err != nil {
		return Group{}, false, err
	}
	if 1+len(members) > s.cfg.MaxGroupMembers {
		return Group{}, false, apierror.New(apierror.MemberLimit, "A group has at most %d members.", s.cfg.MaxGroupMembers)
	}
	fp := fingerprint(owner, in)
	gid := in.GroupID
	switch {
	case gid == "" && in.IdempotencyKey != "":
		gid = "g" + fp[:24]
	case gid == "":
		gid = newID("g", s.clock())
	}
	if err := users.ValidateID("group_id", gid); err != nil {
		return Group{}, false, err
	}
	if !p.IsAdmin() {
		// After every validation, so a refused request costs no token.
		if ok, wait := s.groupsPerUser.Allow(owner); !ok {
			return Group{}, false, ratelimit.Error("groups", wait)
		}
	}
	if err := s.requireUsers(ctx, append([]string{owner}, members...)); err != nil {
		return Group{}, false, err
	}
	now := s.clock()
	g := Group{GroupID: gid, Name: in.Name, AvatarURL: in.AvatarURL, Metadata: in.Metadata, OwnerID: owner,
		MemberCount: 1 + len(members), ConversationID: GroupConversationID(gid), CreatedAt: now, UpdatedAt: now}
	g.IdempotencyKey = in.IdempotencyKey + " " + fp
	all := []Member{{GroupID: gid, UserID: owner, Role: RoleOwner, JoinedAt: now}}
	for _, u := range members {
		all = append(all, Member{GroupID: gid, UserID: u, Role: RoleMember, JoinedAt: now})
	}
	old, err := s.store.CreateGroup(ctx, g, all)
	if apierror.Is(err, apierror.GroupExists) && old != nil && !old.Dissolved {
		oldKey, oldFP, _ := strings.Cut(old.IdempotencyKey, " ")
		keyed := in.IdempotencyKey != "" && oldKey == in.IdempotencyKey
		if keyed && oldFP != fp {
			return Group{}, false, apierror.New(apierror.IdempotencyKeyReused, "This Idempotency-Key was used with a different request.")
		}
		// A retry - by its Idempotency-Key, or of a create that stopped
		// before all its members were in (same group_id and body) - finishes
		// what the interrupted attempt left undone. Without a key, a retry
		// of a create that completed is group_exists, as documented.
		if keyed || (old.Incomplete && oldFP == fp) {
			if _, err := s.addMembers(ctx, *old, owner, members); err != nil {
				return Group{}, false, err
			}
			if old.Incomplete {
				if err := s.store.FinishGroupCreate(ctx, gid); err != nil {
					return Group{}, false, err
				}
				// The interrupted attempt failed before telling anyone.
				s.notify(ctx, Event{Type: EventMembersAdded, ConversationID: g.ConversationID, GroupID: gid, Actor: actorID(p),
					Users: append([]string{owner}, members...)})
			}
			cur, err := s.liveGroup(ctx, gid)
			return cur, false, err
		}
	}
	if err != nil {
		return Group{}, false, err
	}
	s.notify(ctx, Event{Type: EventMembersAdded, ConversationID: g.ConversationID, GroupID: gid, Actor: actorID(p),
		Users: append([]string{owner}, members...)})
	if p.IsAdmin() {
		s.record(ctx, p, "group.create", groupTarget(gid), map[string]audit.Change{"owner": {After: owner}, "members": {After: len(all)}})
	}
	return g, true, nil
}

func fingerprint(owner string, in CreateGroupInput) string {
	in.IdempotencyKey, in.OwnerID = "", owner
	return idempotency.Fingerprint(in)
}

func validateGroupFields(name, avatar *string, md *map[string]string) error {
	if name != nil && (!utf8.ValidString(*name) || utf8.RuneCountInString(*name) > MaxGroupNameRunes) {
		return fieldErr("name", "name must be valid UTF-8 of at most %d characters.", MaxGroupNameRunes)
	}
	prof := users.Profile{}
	if avatar != nil {
		prof.AvatarURL = *avatar
	}
	if md != nil {
		prof.Metadata = *md
	}
	return prof.Validate()
}

// cleanIDs validates ids, drops duplicates and skip, keeps the order.
func cleanIDs(field string, ids []string, skip string) ([]string, error) {
	seen := map[string]bool{skip: true}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := users.ValidateID(field, id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// requireUsers fails with not_found (details.user_ids) unless all exist.
func (s *Service) requireUsers(ctx context.Context, ids []string) error {
	missing, err := s.store.MissingUsers(ctx, ids)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return apierror.New(apierror.NotFound, "%d user(s) do not exist.", len(missing)).WithDetails(map[string]any{"user_ids": missing})
	}
	return nil
}

func actorID(p auth.Principal) string {
	if p.IsAdmin() {
		return ""
	}
	return p.UserID
}

// liveGroup returns a group that exists and is not dissolved, else 404.
func (s *Service) liveGroup(ctx context.Context, gid string) (Group, error) {
	if err := users.ValidateID("group_id", gid); err != nil {
		return Group{}, err
	}
	g, err := s.store.GetGroup(ctx, gid)
	if err != nil {
		return Group{}, err
	}
	if g == nil || g.Dissolved {
		return Group{}, notFound("Group", gid)
	}
	return *g, nil
}

// access is a caller's standing in a group.
type access struct {
	group   Group
	admin   bool    // admin token
	self    *Member // the caller's membership (nil for admin tokens and outsiders)
	members map[string]Member
	// muteKick: the caller holds the mute_kick_any grant (asked for by
	// the mute and remove use cases only): it may mute and remove members
	// other than the owner in any group, member or not.
	muteKick bool
}

func (a access) role() Role {
	if a.self == nil {
		return ""
	}
	return a.self.Role
}

// manager reports whether the caller may add, remove and mute.
func (a access) manager() bool { return a.admin || a.role() == RoleOwner || a.role() == RoleAdmin }

// groupAccess loads the group and the memberships of the caller and of
// others, in one BatchGetItem. A user who is not a member gets 404, as if
// the group did not exist.
func (s *Service) groupAccess(ctx context.Context, p auth.Principal, gid string, others ...string) (access, error) {
	return s.groupAccessAs(ctx, p, gid, false, others...)
}

// moderationAccess is groupAccess for muting and removing: a user with
// the mute_kick_any grant passes without being a member.
func (s *Service) moderationAccess(ctx context.Context, p auth.Principal, gid string, others ...string) (access, error) {
	return s.groupAccessAs(ctx, p, gid, hasGrant(p, permissions.GrantMuteKickAny), others...)
}

func (s *Service) groupAccessAs(ctx context.Context, p auth.Principal, gid string, muteKick bool, others ...string) (access, error) {
	g, err := s.liveGroup(ctx, gid)
	if err != nil {
		return access{}, err
	}
	a := access{group: g, admin: p.IsAdmin(), muteKick: muteKick}
	ids := others
	if !a.admin {
		uid, err := p.User()
		if err != nil {
			return access{}, err
		}
		ids = append([]string{uid}, others...)
	}
	if len(ids) > 0 {
		if a.members, err = s.store.GetMembers(ctx, gid, ids); err != nil {
			return access{}, err
		}
	}
	if !a.admin {
		m, ok := a.members[p.UserID]
		switch {
		case ok:
			a.self = &m
		case !a.muteKick:
			return access{}, notFound("Group", gid)
		}
	}
	return a, nil
}

// GetGroup returns a group to its members and admins.
func (s *Service) GetGroup(ctx context.Context, p auth.Principal, gid string) (Group, error) {
	a, err := s.groupAccess(ctx, p, gid)
	return a.group, err
}

// UpdateGroup changes name, avatar, metadata or the group-wide mute
// (owner, group admins, admin tokens). Muting the whole group leaves only
// its owner and admins able to send; members see muted_all on the group
// and a group.updated event.
func (s *Service) UpdateGroup(ctx context.Context, p auth.Principal, gid string, patch GroupPatch) (Group, error) {
	if err := validateGroupFields(patch.Name, patch.AvatarURL, patch.Metadata); err != nil {
		return Group{}, err
	}
	a, err := s.groupAccess(ctx, p, gid)
	if err != nil {
		return Group{}, err
	}
	if !a.manager() {
		return Group{}, apierror.New(apierror.Forbidden, "Only the owner and group admins can change the group.")
	}
	if patch.Name == nil && patch.AvatarURL == nil && patch.Metadata == nil &&
		(patch.MutedAll == nil || *patch.MutedAll == a.group.MutedAll) {
		return a.group, nil
	}
	g, err := s.store.UpdateGroup(ctx, gid, patch, s.clock())
	if err != nil {
		return Group{}, err
	}
	s.notify(ctx, Event{Type: EventGroupUpdated, ConversationID: g.ConversationID, GroupID: gid, Actor: actorID(p)})
	if p.IsAdmin() {
		s.record(ctx, p, "group.update", groupTarget(gid), groupChanges(a.group, g))
	}
	return g, nil
}

// DissolveGroup ends a group (owner or admin token). Its id stays taken;
// its history is no longer readable by anyone but admin tokens.
func (s *Service) DissolveGroup(ctx context.Context, p auth.Principal, gid string) error {
	if err := users.ValidateID("group_id", gid); err != nil {
		return err
	}
	g, err := s.store.GetGroup(ctx, gid)
	if err != nil {
		return err
	}
	if g != nil && g.Dissolved && p.IsAdmin() {
		// An admin retrying a dissolve whose clean-up failed finishes it.
		_, err := s.store.PurgeMembers(ctx, gid)
		return err
	}
	a, err := s.groupAccess(ctx, p, gid)
	if err != nil {
		return err
	}
	if !a.admin && a.role() != RoleOwner {
		return apierror.New(apierror.Forbidden, "Only the owner can dissolve the group.")
	}
	done, err := s.store.DissolveGroup(ctx, gid, s.clock())
	if err != nil {
		return err
	}
	if !done {
		return notFound("Group", gid)
	}
	members, err := s.store.PurgeMembers(ctx, gid)
	if err != nil {
		return err
	}
	s.notify(ctx, Event{Type: EventGroupDissolved, ConversationID: a.group.ConversationID, GroupID: gid, Actor: actorID(p), Users: members})
	// Every dissolution is audited, by its owner too (issue 17).
	s.record(ctx, p, "group.dissolve", groupTarget(gid), map[string]audit.Change{"dissolved": {After: true}, "members": {Before: len(members)}})
	return nil
}
