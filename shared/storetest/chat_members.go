package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

func member(gid, uid string, role chat.Role) chat.Member {
	return chat.Member{GroupID: gid, UserID: uid, Role: role, JoinedAt: at(3)}
}

// wantGroupUnchanged checks the member count and that none of uids is a member.
func wantGroupUnchanged(t *testing.T, s chat.Store, gid string, count int, uids ...string) {
	t.Helper()
	if got := getGroup(t, s, gid).MemberCount; got != count {
		t.Fatalf("MemberCount = %d, want %d", got, count)
	}
	if got := members(t, s, gid, uids...); len(got) != 0 {
		t.Fatalf("members written: %v", got)
	}
}

func chatMemberCases() []chatCase {
	return []chatCase{
		{"AddMembers/adds members with their read position", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			a, b := newID("u"), newID("u")
			must(t, s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, a, chat.RoleMember), member(g.GroupID, b, chat.RoleAdmin)}, 3, chat.ReadMark{Seq: 7, Count: 5}))
			if got := getGroup(t, s, g.GroupID).MemberCount; got != 3 {
				t.Fatalf("MemberCount = %d, want 3", got)
			}
			if got := members(t, s, g.GroupID, b); !reflect.DeepEqual(got[b], member(g.GroupID, b, chat.RoleAdmin)) {
				t.Fatalf("member = %+v", got[b])
			}
			es, err := s.GetEntries(ctxOf(t), []chat.EntryKey{{UserID: a, ConversationID: g.ConversationID}})
			must(t, err)
			want := chat.Entry{UserID: a, ConversationID: g.ConversationID, Kind: chat.KindGroup, GroupID: g.GroupID, ReadSeq: 7, ReadCount: 5, JoinedAt: at(3)}
			if got := es[chat.EntryKey{UserID: a, ConversationID: g.ConversationID}]; !reflect.DeepEqual(got, want) {
				t.Fatalf("entry = %+v, want %+v", got, want)
			}
		}},
		{"AddMembers/over the cap is member_limit and writes nothing", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"), newID("u"))
			a, b := newID("u"), newID("u")
			err := s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, a, chat.RoleMember), member(g.GroupID, b, chat.RoleMember)}, 3, chat.ReadMark{})
			wantCode(t, err, apierror.MemberLimit)
			wantGroupUnchanged(t, s, g.GroupID, 2, a, b)
		}},
		{"AddMembers/an existing member is a conflict and writes nothing", func(t *testing.T, s chat.Store) {
			old := newID("u")
			g := newGroup(t, s, newID("u"), old)
			a := newID("u")
			err := s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, a, chat.RoleMember), member(g.GroupID, old, chat.RoleAdmin)}, 10, chat.ReadMark{})
			wantConflict(t, err)
			wantGroupUnchanged(t, s, g.GroupID, 2, a)
			if got := members(t, s, g.GroupID, old)[old].Role; got != chat.RoleMember {
				t.Fatalf("existing member's role = %s, want member", got)
			}
		}},
		{"AddMembers/a dissolved or missing group", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			_, err := s.DissolveGroup(ctxOf(t), g.GroupID, at(1))
			must(t, err)
			a := newID("u")
			wantConflict(t, s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, a, chat.RoleMember)}, 0, chat.ReadMark{}))
			// With a cap the adapter cannot tell a gone group from a full one.
			wantCode(t, s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, a, chat.RoleMember)}, 10, chat.ReadMark{}), apierror.MemberLimit)
			wantGroupUnchanged(t, s, g.GroupID, 1, a)
			missing := newID("g")
			wantConflict(t, s.AddMembers(ctxOf(t), missing, []chat.Member{member(missing, a, chat.RoleMember)}, 0, chat.ReadMark{}))
			if got := members(t, s, missing, a); len(got) != 0 {
				t.Fatalf("member of a missing group: %v", got)
			}
		}},
		{"RemoveMember/removes the member, its entry and one from the count", func(t *testing.T, s chat.Store) {
			a := newID("u")
			g := newGroup(t, s, newID("u"), a)
			must(t, s.RemoveMember(ctxOf(t), g.GroupID, a, chat.RoleMember))
			wantGroupUnchanged(t, s, g.GroupID, 1, a)
			es, err := s.ListEntries(ctxOf(t), a)
			if err != nil || len(es) != 0 {
				t.Fatalf("entries = %v, %v", es, err)
			}
		}},
		{"RemoveMember/another role or a non-member is a conflict", func(t *testing.T, s chat.Store) {
			a := newID("u")
			g := newGroup(t, s, newID("u"), a)
			wantConflict(t, s.RemoveMember(ctxOf(t), g.GroupID, a, chat.RoleAdmin))
			wantConflict(t, s.RemoveMember(ctxOf(t), g.GroupID, newID("u"), chat.RoleMember))
			if got := getGroup(t, s, g.GroupID).MemberCount; got != 2 || len(members(t, s, g.GroupID, a)) != 1 {
				t.Fatalf("group changed: count %d", got)
			}
		}},
		{"UpdateMember/sets role and muted under the expected role", func(t *testing.T, s chat.Store) {
			a := newID("u")
			g := newGroup(t, s, newID("u"), a)
			got, err := s.UpdateMember(ctxOf(t), g.GroupID, a, chat.RoleMember, ptr(chat.RoleAdmin), nil)
			must(t, err)
			want := chat.Member{GroupID: g.GroupID, UserID: a, Role: chat.RoleAdmin, JoinedAt: at(0)}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("UpdateMember = %+v, want %+v", got, want)
			}
			got, err = s.UpdateMember(ctxOf(t), g.GroupID, a, chat.RoleAdmin, nil, ptr(true))
			must(t, err)
			want.Muted = true
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(members(t, s, g.GroupID, a)[a], want) {
				t.Fatalf("UpdateMember = %+v, want %+v", got, want)
			}
		}},
		{"UpdateMember/a changed role or a non-member is a conflict", func(t *testing.T, s chat.Store) {
			a := newID("u")
			g := newGroup(t, s, newID("u"), a)
			_, err := s.UpdateMember(ctxOf(t), g.GroupID, a, chat.RoleAdmin, ptr(chat.RoleMember), ptr(true))
			wantConflict(t, err)
			if got := members(t, s, g.GroupID, a)[a]; got.Muted || got.Role != chat.RoleMember {
				t.Fatalf("member changed: %+v", got)
			}
			nobody := newID("u")
			_, err = s.UpdateMember(ctxOf(t), g.GroupID, nobody, chat.RoleMember, nil, ptr(true))
			wantConflict(t, err)
			if got := members(t, s, g.GroupID, nobody); len(got) != 0 {
				t.Fatalf("member created: %v", got)
			}
		}},
		{"TransferOwner/swaps owner and admin, unmuting the new owner", func(t *testing.T, s chat.Store) {
			owner, a := newID("u"), newID("u")
			g := newGroup(t, s, owner, a)
			_, err := s.UpdateMember(ctxOf(t), g.GroupID, a, chat.RoleMember, nil, ptr(true))
			must(t, err)
			must(t, s.TransferOwner(ctxOf(t), g.GroupID, owner, a, at(20)))
			got := getGroup(t, s, g.GroupID)
			ms := members(t, s, g.GroupID, owner, a)
			if got.OwnerID != a || !got.UpdatedAt.Equal(at(20)) || ms[a].Role != chat.RoleOwner || ms[a].Muted || ms[owner].Role != chat.RoleAdmin {
				t.Fatalf("group %+v, members %+v", got, ms)
			}
		}},
		{"TransferOwner/conditions", func(t *testing.T, s chat.Store) {
			for _, tc := range []struct {
				name string
				prep func(t *testing.T, g chat.Group, member string) (from, to string)
			}{
				{"from is not the owner", func(_ *testing.T, g chat.Group, m string) (string, string) { return m, g.OwnerID }},
				{"to is not a member", func(_ *testing.T, g chat.Group, _ string) (string, string) { return g.OwnerID, newID("u") }},
				{"dissolved", func(t *testing.T, g chat.Group, m string) (string, string) {
					_, err := s.DissolveGroup(ctxOf(t), g.GroupID, at(1))
					must(t, err)
					return g.OwnerID, m
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					m := newID("u")
					g := newGroup(t, s, newID("u"), m)
					from, to := tc.prep(t, g, m)
					wantConflict(t, s.TransferOwner(ctxOf(t), g.GroupID, from, to, at(9)))
					ms := members(t, s, g.GroupID, g.OwnerID, m, to)
					if got := getGroup(t, s, g.GroupID); got.OwnerID != g.OwnerID || ms[g.OwnerID].Role != chat.RoleOwner || ms[m].Role != chat.RoleMember || len(ms) != 2 {
						t.Fatalf("changed: group %+v, members %+v", got, ms)
					}
				})
			}
		}},
		{"ListMembers/pages in user id order through the cursor codec", func(t *testing.T, s chat.Store) {
			ids := []string{"e" + newID("u"), "a" + newID("u"), "d" + newID("u"), "b" + newID("u"), "c" + newID("u")}
			g := newGroup(t, s, ids[0], ids[1:]...)
			slices.Sort(ids)
			var got []string
			var page []byte
			for n := 0; ; n++ {
				if n > len(ids)/2+1 {
					t.Fatalf("more than %d pages: %v", len(ids)/2+2, got)
				}
				list, next, err := s.ListMembers(ctxOf(t), g.GroupID, 2, page)
				must(t, err)
				for _, m := range list {
					got = append(got, m.UserID)
				}
				if len(next) == 0 {
					break
				}
				page = throughCodec(t, "members", next)
			}
			if !reflect.DeepEqual(got, ids) {
				t.Fatalf("members %v, want %v", got, ids)
			}
		}},
		{"ListMembers/a next page after a full last page is empty and last", func(t *testing.T, s chat.Store) {
			// DynamoDB may return a start key when a page is exactly full
			// (DynamoDB Local does, moto does not); following it must end.
			g := newGroup(t, s, newID("u"), newID("u"))
			list, next, err := s.ListMembers(ctxOf(t), g.GroupID, 2, nil)
			must(t, err)
			if len(list) != 2 {
				t.Fatalf("ListMembers = %d members, want 2", len(list))
			}
			if len(next) == 0 {
				return
			}
			list, next, err = s.ListMembers(ctxOf(t), g.GroupID, 2, next)
			if err != nil || len(list) != 0 || len(next) != 0 {
				t.Fatalf("second page = %v, %v, %v; want empty and last", list, next, err)
			}
		}},
		{"ListMembers/a limit below 1 is rejected", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			_, _, err := s.ListMembers(ctxOf(t), g.GroupID, 0, nil)
			wantFailure(t, err)
		}},
	}
}
