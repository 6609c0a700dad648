package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// newDM returns a DM between two fresh users whose entries exist.
func newDM(t *testing.T, s chat.Store) chat.ConvRef {
	t.Helper()
	a, b := newID("u"), newID("u")
	ref := chat.ConvRef{ID: chat.DMID(a, b), Kind: chat.KindDM, A: min(a, b), B: max(a, b)}
	must(t, s.EnsureDMEntries(ctxOf(t), ref, at(0)))
	return ref
}

func entry(t *testing.T, s chat.Store, uid string, conv chat.ConversationID) (chat.Entry, bool) {
	t.Helper()
	k := chat.EntryKey{UserID: uid, ConversationID: conv}
	es, err := s.GetEntries(ctxOf(t), []chat.EntryKey{k})
	must(t, err)
	e, ok := es[k]
	return e, ok
}

func chatConversationCases() []chatCase {
	return []chatCase{
		{"ReadConversation/reads what the query asks, absent items empty", func(t *testing.T, s chat.Store) {
			u, stranger := newID("u"), newID("u")
			addUsers(t, s, u)
			g := newGroup(t, s, newID("u"), u)
			v, err := s.ReadConversation(ctxOf(t), chat.ConvQuery{ID: g.ConversationID, MemberOf: g.GroupID, Member: u, UserExists: u, Entries: []string{u, stranger}})
			must(t, err)
			if v.Meta == nil || v.Meta.GroupID != g.GroupID || v.Member == nil || v.Member.UserID != u || v.Member.Role != chat.RoleMember ||
				!v.UserExists || len(v.Entries) != 1 || v.Entries[u].GroupID != g.GroupID {
				t.Fatalf("view = %+v", v)
			}
			v, err = s.ReadConversation(ctxOf(t), chat.ConvQuery{ID: chat.GroupConversationID(newID("g")), MemberOf: g.GroupID, Member: stranger, UserExists: stranger, Entries: []string{u}})
			must(t, err)
			if v.Meta != nil || v.Member != nil || v.UserExists || len(v.Entries) != 0 || v.Entries == nil {
				t.Fatalf("view of nothing = %+v", v)
			}
		}},
		{"GetConvMetas/present heads only", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			missing := chat.GroupConversationID(newID("g"))
			got, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{missing, g.ConversationID})
			must(t, err)
			if len(got) != 1 || got[g.ConversationID].Kind != chat.KindGroup {
				t.Fatalf("GetConvMetas = %+v", got)
			}
			if got, err := s.GetConvMetas(ctxOf(t), nil); err != nil || len(got) != 0 {
				t.Fatalf("GetConvMetas(nil) = %v, %v", got, err)
			}
		}},
		{"EnsureDMEntries/creates both entries once, keeping read positions", func(t *testing.T, s chat.Store) {
			ref := newDM(t, s)
			want := chat.Entry{UserID: ref.A, ConversationID: ref.ID, Kind: chat.KindDM, Peer: ref.B, JoinedAt: at(0)}
			if got, _ := entry(t, s, ref.A, ref.ID); !reflect.DeepEqual(got, want) {
				t.Fatalf("entry = %+v, want %+v", got, want)
			}
			_, err := s.MarkRead(ctxOf(t), ref.B, ref.ID, chat.ReadMark{Seq: 4, Count: 3})
			must(t, err)
			must(t, s.EnsureDMEntries(ctxOf(t), ref, at(50)))
			want = chat.Entry{UserID: ref.B, ConversationID: ref.ID, Kind: chat.KindDM, Peer: ref.A, ReadSeq: 4, ReadCount: 3, JoinedAt: at(0)}
			if got, _ := entry(t, s, ref.B, ref.ID); !reflect.DeepEqual(got, want) {
				t.Fatalf("entry = %+v, want %+v", got, want)
			}
		}},
		{"ListEntries/all of a user's entries in conversation order", func(t *testing.T, s chat.Store) {
			u := newID("u")
			g1, g2 := newGroup(t, s, u), newGroup(t, s, newID("u"), u)
			other := newID("u")
			ref := chat.ConvRef{ID: chat.DMID(u, other), Kind: chat.KindDM, A: min(u, other), B: max(u, other)}
			must(t, s.EnsureDMEntries(ctxOf(t), ref, at(0)))
			es, err := s.ListEntries(ctxOf(t), u)
			must(t, err)
			var got []chat.ConversationID
			for _, e := range es {
				if e.UserID != u {
					t.Fatalf("entry of another user: %+v", e)
				}
				got = append(got, e.ConversationID)
			}
			want := []chat.ConversationID{g1.ConversationID, g2.ConversationID, ref.ID}
			slices.Sort(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ListEntries = %v, want %v", got, want)
			}
			if es, err := s.ListEntries(ctxOf(t), newID("u")); err != nil || len(es) != 0 {
				t.Fatalf("ListEntries(nobody) = %v, %v", es, err)
			}
		}},
		{"MarkRead/raises, never lowers", func(t *testing.T, s chat.Store) {
			ref := newDM(t, s)
			for _, tc := range []struct {
				read       chat.ReadMark
				seq, count int64
			}{
				{chat.ReadMark{Seq: 5, Count: 4}, 5, 4},
				{chat.ReadMark{Seq: 3, Count: 2}, 5, 4}, // lower: unchanged
				{chat.ReadMark{Seq: 5, Count: 9}, 5, 4}, // equal: unchanged
				{chat.ReadMark{Seq: 8}, 8, 0},           // no count: cleared
			} {
				got, err := s.MarkRead(ctxOf(t), ref.A, ref.ID, tc.read)
				must(t, err)
				stored, _ := entry(t, s, ref.A, ref.ID)
				if got.ReadSeq != tc.seq || got.ReadCount != tc.count || !reflect.DeepEqual(got, stored) || got.Peer != ref.B {
					t.Fatalf("MarkRead(%+v) = %+v (stored %+v), want %d/%d", tc.read, got, stored, tc.seq, tc.count)
				}
			}
		}},
		{"MarkRead/a missing entry is not_found and not created", func(t *testing.T, s chat.Store) {
			ref := newDM(t, s)
			u := newID("u")
			_, err := s.MarkRead(ctxOf(t), u, ref.ID, chat.ReadMark{Seq: 1})
			wantCode(t, err, apierror.NotFound)
			if _, ok := entry(t, s, u, ref.ID); ok {
				t.Fatal("entry created")
			}
		}},
	}
}
