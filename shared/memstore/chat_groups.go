package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// Groups and members, as shared/aws/dynamo/groups.go stores them.

// maxTxItems is DynamoDB's limit of items per transaction; the adapter
// splits member writes by it, and so does Chat (a later chunk can fail
// after an earlier one was written).
const maxTxItems = 100

type groupRec struct {
	name, avatarURL, owner string
	metadata               map[string]string
	memberCount            int
	createdAt, updatedAt   int64
	dissolved              bool
	idemKey                string
	mutedAll               bool
	incomplete             bool
}

func (r groupRec) group(gid string) chat.Group {
	return chat.Group{GroupID: gid, Name: r.name, AvatarURL: r.avatarURL, Metadata: copyMap(r.metadata), OwnerID: r.owner,
		MemberCount: r.memberCount, ConversationID: chat.GroupConversationID(gid), CreatedAt: fromMS(r.createdAt),
		UpdatedAt: fromMS(r.updatedAt), Dissolved: r.dissolved, IdempotencyKey: r.idemKey, MutedAll: r.mutedAll,
		Incomplete: r.incomplete}
}

type memberRec struct {
	role     chat.Role
	muted    bool
	joinedAt int64
}

func (r memberRec) member(gid, uid string) chat.Member {
	return chat.Member{GroupID: gid, UserID: uid, Role: r.role, Muted: r.muted, JoinedAt: fromMS(r.joinedAt)}
}

// CreateGroup writes the head, the conversation head and up to 48 members
// at once; the rest follow through AddMembers without a cap, the head
// marked incomplete until they are in. An existing id (a dissolved group's
// tombstone too) gives group_exists and that group.
func (c *Chat) CreateGroup(ctx context.Context, g chat.Group, members []chat.Member) (*chat.Group, error) {
	first := members
	if n := (maxTxItems - 2) / 2; len(first) > n {
		first = members[:n]
	}
	rest := members[len(first):]
	if err := c.createGroup(g, first, len(rest) > 0); err != nil {
		return c.existing(g.GroupID, err)
	}
	if len(rest) > 0 {
		if err := c.AddMembers(ctx, g.GroupID, rest, 0, chat.ReadMark{}); err != nil {
			return nil, err
		}
		return nil, c.FinishGroupCreate(ctx, g.GroupID)
	}
	return nil, nil
}

// FinishGroupCreate clears the head's incomplete mark.
func (c *Chat) FinishGroupCreate(_ context.Context, gid string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.groups[gid]
	if !ok {
		return apierror.New(apierror.NotFound, "Group %q not found.", gid)
	}
	r.incomplete = false
	c.groups[gid] = r
	return nil
}

func (c *Chat) existing(gid string, err error) (*chat.Group, error) {
	if !apierror.Is(err, apierror.GroupExists) {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.groups[gid].group(gid)
	return &old, err
}

func (c *Chat) createGroup(g chat.Group, first []chat.Member, incomplete bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.groups[g.GroupID]; ok {
		return apierror.New(apierror.GroupExists, "Group %q already exists.", g.GroupID)
	}
	if _, ok := c.metas[g.ConversationID]; ok {
		return errInvalid("create group", "conversation head exists") // the adapter's transaction is cancelled
	}
	if err := c.checkMemberWrites(g.GroupID, first, false); err != nil {
		return err
	}
	c.groups[g.GroupID] = groupRec{name: g.Name, avatarURL: g.AvatarURL, metadata: copyMap(g.Metadata), owner: g.OwnerID,
		memberCount: len(first), createdAt: ms(g.CreatedAt), updatedAt: ms(g.UpdatedAt), idemKey: g.IdempotencyKey,
		incomplete: incomplete}
	c.metas[g.ConversationID] = metaRec{kind: chat.KindGroup, groupID: g.GroupID, hasSeq: true, createdAt: ms(g.CreatedAt),
		lastAt: ms(g.CreatedAt)}
	c.putMembers(g.GroupID, first, chat.ReadMark{})
	return nil
}

// checkMemberWrites checks that members can be put in one transaction:
// each at most once (DynamoDB rejects two writes of one item) and, if
// mustBeNew, none a member already (else chat.ErrConflict).
func (c *Chat) checkMemberWrites(gid string, members []chat.Member, mustBeNew bool) error {
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.UserID] {
			return errInvalid("member writes", "a user twice in one transaction")
		}
		seen[m.UserID] = true
		if _, ok := c.members[gid][m.UserID]; ok && mustBeNew {
			return chat.ErrConflict
		}
	}
	return nil
}

// putMembers writes member items and their conversation entries (an entry
// is overwritten, as the adapter's unconditional Put does).
func (c *Chat) putMembers(gid string, members []chat.Member, read chat.ReadMark) {
	if c.members[gid] == nil && len(members) > 0 {
		c.members[gid] = map[string]memberRec{}
	}
	conv := chat.GroupConversationID(gid)
	for _, m := range members {
		c.members[gid][m.UserID] = memberRec{role: m.Role, muted: m.Muted, joinedAt: ms(m.JoinedAt)}
		c.entryMap(m.UserID)[conv] = entryRec{kind: chat.KindGroup, groupID: gid, readSeq: read.Seq, readN: read.Count,
			joinedAt: ms(m.JoinedAt)}
	}
}

// AddMembers adds members in chunks of 49, each all-or-nothing: the group
// must exist and not be dissolved and, if max > 0, stay within max members
// (member_limit; with max > 0 a missing or dissolved group reads as full,
// as in the adapter); a member that exists already gives chat.ErrConflict.
func (c *Chat) AddMembers(_ context.Context, gid string, members []chat.Member, max int, read chat.ReadMark) error {
	per := (maxTxItems - 1) / 2
	for start := 0; start < len(members); start += per {
		if err := c.addChunk(gid, members[start:min(start+per, len(members))], max, read); err != nil {
			return err
		}
	}
	return nil
}

func (c *Chat) addChunk(gid string, chunk []chat.Member, max int, read chat.ReadMark) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok || g.dissolved || (max > 0 && g.memberCount > max-len(chunk)) {
		if max > 0 {
			return apierror.New(apierror.MemberLimit, "The group would exceed its cap of %d members.", max)
		}
		return chat.ErrConflict
	}
	if err := c.checkMemberWrites(gid, chunk, true); err != nil {
		return err
	}
	g.memberCount += len(chunk)
	c.groups[gid] = g
	c.putMembers(gid, chunk, read)
	return nil
}

// GetGroup returns a group head (a dissolved one too); nil if none.
func (c *Chat) GetGroup(_ context.Context, gid string) (*chat.Group, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.groups[gid]
	if !ok {
		return nil, nil
	}
	g := r.group(gid)
	return &g, nil
}

// GetMembers returns the memberships of uids in gid; non-members are absent.
func (c *Chat) GetMembers(_ context.Context, gid string, uids []string) (map[string]chat.Member, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]chat.Member{}
	for _, u := range uids {
		if r, ok := c.members[gid][u]; ok {
			out[u] = r.member(gid, u)
		}
	}
	return out, nil
}

// MissingUsers returns the ids that are not users, each once, in order.
func (c *Chat) MissingUsers(_ context.Context, ids []string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" {
			return nil, errInvalid("missing users", "empty user id") // an empty key value
		}
		if !c.hasUser(id) && !seen[id] {
			missing = append(missing, id)
		}
		seen[id] = true
	}
	return missing, nil
}

// RemoveMember deletes uid's membership and entry and lowers the count, if
// uid is still a member with role; otherwise (a non-member too) it changes
// nothing and returns chat.ErrConflict.
func (c *Chat) RemoveMember(_ context.Context, gid, uid string, role chat.Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[gid][uid]
	g, gok := c.groups[gid]
	if !ok || m.role != role || !gok {
		return chat.ErrConflict
	}
	g.memberCount--
	c.groups[gid] = g
	delete(c.members[gid], uid)
	delete(c.entries[uid], chat.GroupConversationID(gid))
	return nil
}

// UpdateMember sets role and/or muted on a member whose role is still
// expect (chat.ErrConflict otherwise, a non-member too).
func (c *Chat) UpdateMember(_ context.Context, gid, uid string, expect chat.Role, role *chat.Role, muted *bool) (chat.Member, error) {
	if role == nil && muted == nil {
		return chat.Member{}, errInvalid("update member", "nothing to set")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[gid][uid]
	if !ok || m.role != expect {
		return chat.Member{}, chat.ErrConflict
	}
	if role != nil {
		m.role = *role
	}
	if muted != nil {
		m.muted = *muted
	}
	c.members[gid][uid] = m
	return m.member(gid, uid), nil
}

// TransferOwner makes to the owner (unmuted) and from an admin if from
// owns the live group and to is a member; otherwise chat.ErrConflict and
// nothing changes.
func (c *Chat) TransferOwner(_ context.Context, gid, from, to string, now time.Time) error {
	if from == to {
		return errInvalid("transfer owner", "two writes of one member") // DynamoDB rejects the transaction
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	mt, tok := c.members[gid][to]
	mf, fok := c.members[gid][from]
	if !ok || g.owner != from || g.dissolved || !tok || !fok || mf.role != chat.RoleOwner {
		return chat.ErrConflict
	}
	g.owner, g.updatedAt = to, ms(now)
	c.groups[gid] = g
	mt.role, mt.muted = chat.RoleOwner, false
	mf.role = chat.RoleAdmin
	c.members[gid][to], c.members[gid][from] = mt, mf
	return nil
}

// UpdateGroup applies a patch to a live group (not_found otherwise): nil
// fields stay, "" or an empty map clears; updated_at is always set.
func (c *Chat) UpdateGroup(_ context.Context, gid string, p chat.GroupPatch, now time.Time) (chat.Group, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok || g.dissolved {
		return chat.Group{}, apierror.New(apierror.NotFound, "Group %q was not found.", gid)
	}
	if p.Name != nil {
		g.name = *p.Name
	}
	if p.AvatarURL != nil {
		g.avatarURL = *p.AvatarURL
	}
	if p.Metadata != nil {
		g.metadata = copyMap(*p.Metadata)
	}
	if p.MutedAll != nil { // the group and its head together, as the adapter's transaction
		g.mutedAll = *p.MutedAll
		conv := chat.GroupConversationID(gid)
		meta := c.metas[conv]
		meta.mutedAll = *p.MutedAll
		c.metas[conv] = meta
	}
	g.updatedAt = ms(now)
	c.groups[gid] = g
	return g.group(gid), nil
}

// DissolveGroup marks a live group dissolved (a tombstone) and closes its
// conversation; false if it was missing or dissolved already.
func (c *Chat) DissolveGroup(_ context.Context, gid string, now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok || g.dissolved {
		return false, nil
	}
	g.dissolved, g.updatedAt = true, ms(now)
	c.groups[gid] = g
	conv := chat.GroupConversationID(gid)
	meta := c.metas[conv] // the adapter's unconditional update creates a missing head
	meta.closed = true
	c.metas[conv] = meta
	return true, nil
}

// PurgeMembers deletes all member items of gid and their entries (the head
// and its count stay) and returns the user ids in id order.
func (c *Chat) PurgeMembers(_ context.Context, gid string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.memberIDs(gid)
	conv := chat.GroupConversationID(gid)
	for _, uid := range ids {
		delete(c.entries[uid], conv)
	}
	delete(c.members, gid)
	return ids, nil
}

// memberIDs returns gid's member ids in sort-key order ("M#<user_id>").
func (c *Chat) memberIDs(gid string) []string {
	ids := make([]string, 0, len(c.members[gid]))
	for uid := range c.members[gid] {
		ids = append(ids, uid)
	}
	slices.Sort(ids)
	return ids
}

// ListMembers pages through members in user id order. Like a DynamoDB
// Query with Limit, a full page returns a next page token even when no
// member follows.
func (c *Chat) ListMembers(_ context.Context, gid string, limit int, page []byte) ([]chat.Member, []byte, error) {
	if limit < 1 {
		return nil, nil, errInvalid("list members", "limit below 1")
	}
	start, err := decodePage(page, 1)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	list := []chat.Member{}
	for _, uid := range c.memberIDs(gid) {
		if len(page) > 0 && uid <= start.After {
			continue
		}
		list = append(list, c.members[gid][uid].member(gid, uid))
		if len(list) == limit {
			next, err := encodePage(0, uid)
			return list, next, err
		}
	}
	return list, nil, nil
}

// entryMap returns uid's entries, creating the map.
func (c *Chat) entryMap(uid string) map[chat.ConversationID]entryRec {
	if c.entries[uid] == nil {
		c.entries[uid] = map[chat.ConversationID]entryRec{}
	}
	return c.entries[uid]
}
