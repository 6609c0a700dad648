package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// newGroup creates a live group owned by owner with members (as role
// member), all joined at at(0).
func newGroup(t *testing.T, s chat.Store, owner string, members ...string) chat.Group {
	t.Helper()
	gid := newID("g")
	g := chat.Group{GroupID: gid, Name: "n", OwnerID: owner, ConversationID: chat.GroupConversationID(gid), CreatedAt: at(0), UpdatedAt: at(0)}
	ms := []chat.Member{{GroupID: gid, UserID: owner, Role: chat.RoleOwner, JoinedAt: at(0)}}
	for _, u := range members {
		ms = append(ms, chat.Member{GroupID: gid, UserID: u, Role: chat.RoleMember, JoinedAt: at(0)})
	}
	old, err := s.CreateGroup(ctxOf(t), g, ms)
	if err != nil || old != nil {
		t.Fatalf("CreateGroup = %v, %v", old, err)
	}
	g.MemberCount = len(ms)
	return g
}

func getGroup(t *testing.T, s chat.Store, gid string) chat.Group {
	t.Helper()
	g, err := s.GetGroup(ctxOf(t), gid)
	must(t, err)
	if g == nil {
		t.Fatalf("group %s missing", gid)
	}
	return *g
}

func members(t *testing.T, s chat.Store, gid string, uids ...string) map[string]chat.Member {
	t.Helper()
	m, err := s.GetMembers(ctxOf(t), gid, uids)
	must(t, err)
	return m
}

func ptr[T any](v T) *T { return &v }

func chatGroupCases() []chatCase {
	return []chatCase{
		{"CreateGroup/writes head, conversation, members and entries", func(t *testing.T, s chat.Store) {
			gid, owner, u := newID("g"), newID("u"), newID("u")
			g := chat.Group{GroupID: gid, Name: "Team", AvatarURL: "https://a", Metadata: map[string]string{"k": "v"}, OwnerID: owner,
				MemberCount: 99, ConversationID: chat.GroupConversationID(gid), CreatedAt: at(1), UpdatedAt: at(2), IdempotencyKey: "idem"}
			ms := []chat.Member{{GroupID: gid, UserID: owner, Role: chat.RoleOwner, JoinedAt: at(1)},
				{GroupID: gid, UserID: u, Role: chat.RoleMember, Muted: true, JoinedAt: at(1)}}
			old, err := s.CreateGroup(ctxOf(t), g, ms)
			if err != nil || old != nil {
				t.Fatalf("CreateGroup = %v, %v", old, err)
			}
			want := g
			want.MemberCount = 2 // counted by the store, not taken from g
			if got := getGroup(t, s, gid); !reflect.DeepEqual(got, want) {
				t.Fatalf("GetGroup = %+v, want %+v", got, want)
			}
			if got := members(t, s, gid, owner, u, newID("u")); !reflect.DeepEqual(got, map[string]chat.Member{owner: ms[0], u: ms[1]}) {
				t.Fatalf("GetMembers = %+v", got)
			}
			v, err := s.ReadConversation(ctxOf(t), chat.ConvQuery{ID: g.ConversationID, Entries: []string{owner, u}})
			must(t, err)
			wantMeta := chat.ConvMeta{ID: g.ConversationID, Kind: chat.KindGroup, GroupID: gid, LastAt: at(1), LastKind: chat.KindMessage, CreatedAt: at(1)}
			if v.Meta == nil || !reflect.DeepEqual(*v.Meta, wantMeta) {
				t.Fatalf("Meta = %+v, want %+v", v.Meta, wantMeta)
			}
			wantEntry := chat.Entry{UserID: u, ConversationID: g.ConversationID, Kind: chat.KindGroup, GroupID: gid, JoinedAt: at(1)}
			if !reflect.DeepEqual(v.Entries[u], wantEntry) || len(v.Entries) != 2 {
				t.Fatalf("Entries = %+v, want %+v for %s", v.Entries, wantEntry, u)
			}
		}},
		{"CreateGroup/more members than one transaction holds", func(t *testing.T, s chat.Store) {
			var ids []string
			for i := range 60 {
				ids = append(ids, fmt.Sprintf("u%02d-%s", i, newID("x")))
			}
			g := newGroup(t, s, ids[0], ids[1:]...)
			if got := getGroup(t, s, g.GroupID); got.MemberCount != 60 || got.Incomplete {
				t.Fatalf("group = %+v, want 60 members and complete", got)
			}
			if got := members(t, s, g.GroupID, ids...); len(got) != 60 {
				t.Fatalf("GetMembers found %d, want 60", len(got))
			}
		}},
		{"FinishGroupCreate/clears the mark; a missing group is not_found", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			if getGroup(t, s, g.GroupID).Incomplete {
				t.Fatal("a one-transaction group is marked incomplete")
			}
			must(t, s.FinishGroupCreate(ctxOf(t), g.GroupID)) // idempotent on a complete group
			if got := getGroup(t, s, g.GroupID); got.Incomplete || got.MemberCount != 1 {
				t.Fatalf("group = %+v", got)
			}
			wantCode(t, s.FinishGroupCreate(ctxOf(t), newID("g")), apierror.NotFound)
			if _, err := s.GetGroup(ctxOf(t), "missing-"+newID("g")); err != nil {
				t.Fatal(err)
			}
		}},
		{"CreateGroup/existing id gives group_exists and the group", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			again := g
			again.Name = "other"
			old, err := s.CreateGroup(ctxOf(t), again, []chat.Member{{GroupID: g.GroupID, UserID: newID("u"), Role: chat.RoleOwner}})
			wantCode(t, err, apierror.GroupExists)
			if old == nil || old.Name != "n" || old.OwnerID != g.OwnerID {
				t.Fatalf("existing group = %+v", old)
			}
			if got := getGroup(t, s, g.GroupID); got.Name != "n" || got.MemberCount != 1 {
				t.Fatalf("group changed: %+v", got)
			}
		}},
		{"CreateGroup/a dissolved group's id stays taken", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			ok, err := s.DissolveGroup(ctxOf(t), g.GroupID, at(5))
			if err != nil || !ok {
				t.Fatalf("DissolveGroup = %v, %v", ok, err)
			}
			old, err := s.CreateGroup(ctxOf(t), g, []chat.Member{{GroupID: g.GroupID, UserID: g.OwnerID, Role: chat.RoleOwner}})
			wantCode(t, err, apierror.GroupExists)
			if old == nil || !old.Dissolved {
				t.Fatalf("existing group = %+v, want the tombstone", old)
			}
		}},
		{"CreateGroup and GetGroup/callers hold copies", func(t *testing.T, s chat.Store) {
			gid, owner := newID("g"), newID("u")
			meta := map[string]string{"k": "v"}
			g := chat.Group{GroupID: gid, OwnerID: owner, Metadata: meta, ConversationID: chat.GroupConversationID(gid), CreatedAt: at(0), UpdatedAt: at(0)}
			_, err := s.CreateGroup(ctxOf(t), g, []chat.Member{member(gid, owner, chat.RoleOwner)})
			must(t, err)
			meta["k"] = "changed by the caller"
			got := getGroup(t, s, gid)
			got.Metadata["k"] = "changed by a reader"
			if again := getGroup(t, s, gid); again.Metadata["k"] != "v" {
				t.Fatalf("stored metadata = %v, want k=v", again.Metadata)
			}
		}},
		{"GetGroup/missing is nil", func(t *testing.T, s chat.Store) {
			g, err := s.GetGroup(ctxOf(t), newID("g"))
			if err != nil || g != nil {
				t.Fatalf("GetGroup = %v, %v", g, err)
			}
		}},
		{"UpdateGroup/patch sets, clears and keeps", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			got, err := s.UpdateGroup(ctxOf(t), g.GroupID, chat.GroupPatch{AvatarURL: ptr("https://b"), Metadata: &map[string]string{"a": "1"}}, at(10))
			must(t, err)
			want := g
			want.AvatarURL, want.Metadata, want.UpdatedAt = "https://b", map[string]string{"a": "1"}, at(10)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("UpdateGroup = %+v, want %+v", got, want)
			}
			got, err = s.UpdateGroup(ctxOf(t), g.GroupID, chat.GroupPatch{Name: ptr(""), Metadata: &map[string]string{}}, at(11))
			must(t, err)
			want.Name, want.Metadata, want.UpdatedAt = "", nil, at(11)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(getGroup(t, s, g.GroupID), want) {
				t.Fatalf("UpdateGroup = %+v, want %+v", got, want)
			}
		}},
		{"UpdateGroup/muted_all on the group and its head together", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			on, off := true, false
			got, err := s.UpdateGroup(ctxOf(t), g.GroupID, chat.GroupPatch{Name: ptr("quiet"), MutedAll: &on}, at(10))
			must(t, err)
			want := g
			want.Name, want.MutedAll, want.UpdatedAt = "quiet", true, at(10)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(getGroup(t, s, g.GroupID), want) {
				t.Fatalf("UpdateGroup = %+v, want %+v", got, want)
			}
			head := func() bool {
				t.Helper()
				v, err := s.ReadConversation(ctxOf(t), chat.ConvQuery{ID: g.ConversationID})
				must(t, err)
				return v.Meta != nil && v.Meta.MutedAll
			}
			if !head() {
				t.Fatal("the head does not carry muted_all")
			}
			got, err = s.UpdateGroup(ctxOf(t), g.GroupID, chat.GroupPatch{MutedAll: &off}, at(11))
			must(t, err)
			if got.MutedAll || got.Name != "quiet" || head() {
				t.Fatalf("lifted: %+v, head muted %v", got, head())
			}
			_, err = s.DissolveGroup(ctxOf(t), g.GroupID, at(12))
			must(t, err)
			_, err = s.UpdateGroup(ctxOf(t), g.GroupID, chat.GroupPatch{MutedAll: &on}, at(13))
			wantCode(t, err, apierror.NotFound)
			if head() {
				t.Fatal("a dissolved group's head was muted")
			}
		}},
		{"UpdateGroup/missing or dissolved is not_found", func(t *testing.T, s chat.Store) {
			_, err := s.UpdateGroup(ctxOf(t), newID("g"), chat.GroupPatch{Name: ptr("x")}, at(1))
			wantCode(t, err, apierror.NotFound)
			g := newGroup(t, s, newID("u"))
			_, err = s.DissolveGroup(ctxOf(t), g.GroupID, at(1))
			must(t, err)
			_, err = s.UpdateGroup(ctxOf(t), g.GroupID, chat.GroupPatch{Name: ptr("x")}, at(2))
			wantCode(t, err, apierror.NotFound)
			if got := getGroup(t, s, g.GroupID); got.Name != "n" {
				t.Fatalf("dissolved group changed: %+v", got)
			}
		}},
		{"DissolveGroup/once, leaving a tombstone and a closed conversation", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			for i, want := range []bool{true, false} {
				ok, err := s.DissolveGroup(ctxOf(t), g.GroupID, at(int64(7+i)))
				if err != nil || ok != want {
					t.Fatalf("DissolveGroup #%d = %v, %v; want %v", i, ok, err, want)
				}
			}
			got := getGroup(t, s, g.GroupID)
			if !got.Dissolved || !got.UpdatedAt.Equal(at(7)) {
				t.Fatalf("group = %+v, want dissolved at(7)", got)
			}
			metas, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{g.ConversationID})
			must(t, err)
			if !metas[g.ConversationID].Closed {
				t.Fatalf("conversation = %+v, want closed", metas[g.ConversationID])
			}
			ok, err := s.DissolveGroup(ctxOf(t), newID("g"), at(1))
			if err != nil || ok {
				t.Fatalf("DissolveGroup(missing) = %v, %v", ok, err)
			}
		}},
		{"PurgeMembers/deletes members and entries, keeps the head", func(t *testing.T, s chat.Store) {
			owner, a, b := "c"+newID("u"), "a"+newID("u"), "b"+newID("u")
			g := newGroup(t, s, owner, b, a)
			_, err := s.DissolveGroup(ctxOf(t), g.GroupID, at(1))
			must(t, err)
			ids, err := s.PurgeMembers(ctxOf(t), g.GroupID)
			must(t, err)
			if !reflect.DeepEqual(ids, []string{a, b, owner}) {
				t.Fatalf("PurgeMembers = %v, want user id order", ids)
			}
			if got := members(t, s, g.GroupID, owner, a, b); len(got) != 0 {
				t.Fatalf("members left: %v", got)
			}
			es, err := s.ListEntries(ctxOf(t), a)
			must(t, err)
			if len(es) != 0 {
				t.Fatalf("entries left: %v", es)
			}
			if got := getGroup(t, s, g.GroupID); !got.Dissolved || got.MemberCount != 3 {
				t.Fatalf("head = %+v", got)
			}
		}},
		{"MissingUsers/each missing id once, in order", func(t *testing.T, s chat.Store) {
			a, b, x, y := newID("u"), newID("u"), newID("u"), newID("u")
			addUsers(t, s, a, b)
			got, err := s.MissingUsers(ctxOf(t), []string{y, a, x, y, b, x})
			must(t, err)
			if !reflect.DeepEqual(got, []string{y, x}) {
				t.Fatalf("MissingUsers = %v, want [%s %s]", got, y, x)
			}
			got, err = s.MissingUsers(ctxOf(t), []string{a, b})
			if err != nil || len(got) != 0 {
				t.Fatalf("MissingUsers(users) = %v, %v", got, err)
			}
		}},
	}
}
