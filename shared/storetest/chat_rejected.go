package storetest

import (
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

// Requests DynamoDB rejects outright (ValidationException): the use cases
// must never make them, and a fake must fail them too, so a use-case test
// on the fake catches the caller bug. Nothing is written.
func chatRejectedCases() []chatCase {
	return []chatCase{
		{"rejected/one user twice in CreateGroup or AddMembers", func(t *testing.T, s chat.Store) {
			gid, owner, u := newID("g"), newID("u"), newID("u")
			_, err := s.CreateGroup(ctxOf(t), chat.Group{GroupID: gid, OwnerID: owner, ConversationID: chat.GroupConversationID(gid), CreatedAt: at(0)},
				[]chat.Member{member(gid, owner, chat.RoleOwner), member(gid, u, chat.RoleMember), member(gid, u, chat.RoleMember)})
			wantFailure(t, err)
			if g, err := s.GetGroup(ctxOf(t), gid); err != nil || g != nil {
				t.Fatalf("group written: %+v, %v", g, err)
			}
			g := newGroup(t, s, owner)
			wantFailure(t, s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, u, chat.RoleMember), member(g.GroupID, u, chat.RoleMember)}, 0, chat.ReadMark{}))
			wantGroupUnchanged(t, s, g.GroupID, 1, u)
		}},
		{"rejected/TransferOwner to the owner", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			wantFailure(t, s.TransferOwner(ctxOf(t), g.GroupID, g.OwnerID, g.OwnerID, at(1)))
			if got := getGroup(t, s, g.GroupID); !got.UpdatedAt.Equal(at(0)) {
				t.Fatalf("group changed: %+v", got)
			}
		}},
		{"rejected/UpdateMember with nothing to set", func(t *testing.T, s chat.Store) {
			u := newID("u")
			g := newGroup(t, s, newID("u"), u)
			_, err := s.UpdateMember(ctxOf(t), g.GroupID, u, chat.RoleMember, nil, nil)
			wantFailure(t, err)
		}},
		{"rejected/duplicate keys in one read", func(t *testing.T, s chat.Store) {
			u := newID("u")
			g := newGroup(t, s, u)
			_, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{g.ConversationID, g.ConversationID})
			wantFailure(t, err)
			k := chat.EntryKey{UserID: u, ConversationID: g.ConversationID}
			_, err = s.GetEntries(ctxOf(t), []chat.EntryKey{k, k})
			wantFailure(t, err)
			_, err = s.ReadConversation(ctxOf(t), chat.ConvQuery{ID: g.ConversationID, Entries: []string{u, u}})
			wantFailure(t, err)
			// GetMembers and MissingUsers remove duplicates themselves.
			if ms := members(t, s, g.GroupID, u, u); len(ms) != 1 {
				t.Fatalf("GetMembers = %v", ms)
			}
		}},
	}
}
