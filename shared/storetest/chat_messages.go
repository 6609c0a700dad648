package storetest

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

func newConv() chat.ConversationID { return chat.GroupConversationID(newID("g")) }

// msg is a plain message at seq, sent by sender at at(seq).
func msg(conv chat.ConversationID, seq int64, sender string) chat.Message {
	return chat.Message{ConversationID: conv, Seq: seq, MessageID: newID("m"), Kind: chat.KindMessage, SenderType: chat.SenderUser,
		SenderID: sender, Text: "hi", CreatedAt: at(seq), Count: seq}
}

func put(t *testing.T, s chat.Store, ms ...chat.Message) {
	t.Helper()
	for _, m := range ms {
		old, err := s.PutMessage(ctxOf(t), m)
		if err != nil || old != nil {
			t.Fatalf("PutMessage(%d) = %v, %v", m.Seq, old, err)
		}
	}
}

func getMessage(t *testing.T, s chat.Store, conv chat.ConversationID, seq int64) *chat.Message {
	t.Helper()
	m, err := s.GetMessage(ctxOf(t), conv, seq)
	must(t, err)
	return m
}

func seqsOf(ms []chat.Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

// race runs f n times at once and returns each call's result, failing on
// any error.
func race[T any](t *testing.T, n int, f func(i int) (*T, error)) []*T {
	t.Helper()
	olds := make([]*T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { olds[i], errs[i] = f(i) })
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	return olds
}

// winners counts the calls whose conditional write won (no old value).
func winners[T any](olds []*T) int {
	n := 0
	for _, o := range olds {
		if o == nil {
			n++
		}
	}
	return n
}

func chatMessageCases() []chatCase {
	return append(append(chatClaimCases(), chatChangeCases()...), chatAttachmentCases()...)
}

func chatClaimCases() []chatCase {
	return []chatCase{
		{"ClaimClientMsgID/first claim wins, later ones read it", func(t *testing.T, s chat.Store) {
			c := chat.Claim{ConversationID: newConv(), Key: "u#c1", Seq: 3, MessageID: "m1", CreatedAt: at(1), Fingerprint: "fp"}
			old, err := s.ClaimClientMsgID(ctxOf(t), c)
			if err != nil || old != nil {
				t.Fatalf("first claim = %v, %v", old, err)
			}
			other := c
			other.Seq, other.MessageID, other.Fingerprint = 4, "m2", "fp2"
			for i := range 2 { // a losing claim changes nothing
				old, err = s.ClaimClientMsgID(ctxOf(t), other)
				must(t, err)
				if old == nil || !reflect.DeepEqual(*old, c) {
					t.Fatalf("claim #%d = %+v, want %+v", i+2, old, c)
				}
			}
		}},
		{"ClaimClientMsgID/concurrent claims: exactly one wins", func(t *testing.T, s chat.Store) {
			conv := newConv()
			olds := race(t, 8, func(i int) (*chat.Claim, error) {
				return s.ClaimClientMsgID(ctxOf(t), chat.Claim{ConversationID: conv, Key: "k", Seq: int64(i + 1), MessageID: newID("m"), CreatedAt: at(0)})
			})
			if n := winners(olds); n != 1 {
				t.Fatalf("%d claims won, want 1", n)
			}
		}},
		{"MoveClaim/moves only the claim it expects", func(t *testing.T, s chat.Store) {
			c := chat.Claim{ConversationID: newConv(), Key: "u#c", Seq: 3, MessageID: "m1", CreatedAt: at(1), Fingerprint: "fp"}
			_, err := s.ClaimClientMsgID(ctxOf(t), c)
			must(t, err)
			moved := c
			moved.Seq = 5
			if old, err := s.MoveClaim(ctxOf(t), moved, 3); err != nil || old != nil {
				t.Fatalf("MoveClaim = %v, %v", old, err)
			}
			for _, tc := range []struct {
				id   string
				from int64
			}{{"m1", 3}, {"m2", 5}} { // stale seq; another message
				try := c
				try.Seq, try.MessageID = 9, tc.id
				old, err := s.MoveClaim(ctxOf(t), try, tc.from)
				must(t, err)
				if old == nil || !reflect.DeepEqual(*old, moved) {
					t.Fatalf("MoveClaim(%s from %d) = %+v, want %+v", tc.id, tc.from, old, moved)
				}
			}
			list, err := s.ListClaims(ctxOf(t), c.ConversationID, "")
			if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], moved) {
				t.Fatalf("claims = %+v, %v", list, err)
			}
			gone := c
			gone.Key = "u#none"
			old, err := s.MoveClaim(ctxOf(t), gone, 3)
			if old != nil {
				t.Fatalf("MoveClaim(missing) = %+v", old)
			}
			wantFailure(t, err)
		}},
		{"ListClaims/by prefix in key order", func(t *testing.T, s chat.Store) {
			conv := newConv()
			for _, k := range []string{"u2#b", "~recall#3", "u1#b", "u1#a"} {
				_, err := s.ClaimClientMsgID(ctxOf(t), chat.Claim{ConversationID: conv, Key: k, Seq: 1, MessageID: "m", CreatedAt: at(0)})
				must(t, err)
			}
			put(t, s, msg(conv, 1, "u1"))
			for prefix, want := range map[string][]string{"": {"u1#a", "u1#b", "u2#b", "~recall#3"}, "u1#": {"u1#a", "u1#b"}, "x": nil} {
				list, err := s.ListClaims(ctxOf(t), conv, prefix)
				must(t, err)
				var got []string
				for _, c := range list {
					got = append(got, c.Key)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("ListClaims(%q) = %v, want %v", prefix, got, want)
				}
			}
		}},
		{"PutMessage/stores what the store keeps, reads it back", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "u")
			m.ClientMsgID, m.Fingerprint, m.Payload = "c1", "fp", &chat.Payload{Type: "card", Data: json.RawMessage(`{"a":1}`)}
			ev := chat.Message{ConversationID: conv, Seq: 2, MessageID: "e", Kind: chat.KindRecall, RefSeq: 1, SenderType: chat.SenderSystem, CreatedAt: at(2), Count: 1}
			bare := chat.Message{ConversationID: conv, Seq: 3, MessageID: "b", SenderType: chat.SenderUser, CreatedAt: at(3)}
			// Change fields are not written by PutMessage.
			bare.EditSeq, bare.RecalledBy, bare.Recalled, bare.EditedAt = 9, "x", true, ptr(at(4))
			put(t, s, m, ev, bare)
			bareWant := chat.Message{ConversationID: conv, Seq: 3, MessageID: "b", Kind: chat.KindMessage, SenderType: chat.SenderUser, CreatedAt: at(3)}
			for _, want := range []chat.Message{m, ev, bareWant} {
				if got := getMessage(t, s, conv, want.Seq); got == nil || !reflect.DeepEqual(*got, want) {
					t.Fatalf("GetMessage(%d) = %+v, want %+v", want.Seq, got, want)
				}
			}
			if got := getMessage(t, s, conv, 4); got != nil {
				t.Fatalf("GetMessage(missing) = %+v", got)
			}
		}},
		{"PutMessage/a taken seq returns its message", func(t *testing.T, s chat.Store) {
			conv := newConv()
			first := msg(conv, 1, "a")
			put(t, s, first)
			old, err := s.PutMessage(ctxOf(t), msg(conv, 1, "b"))
			must(t, err)
			if old == nil || !reflect.DeepEqual(*old, first) || !reflect.DeepEqual(*getMessage(t, s, conv, 1), first) {
				t.Fatalf("PutMessage(taken) = %+v, want %+v", old, first)
			}
		}},
		{"PutMessage/an identical message put again reports the first (a claim taken over by two sends)", func(t *testing.T, s chat.Store) {
			// Two sends of one client_msg_id, the second taking over the
			// first's claim, build the very same message: only one of them
			// created it, so the second put must see the first, not succeed.
			conv := newConv()
			m := msg(conv, 1, "a")
			m.ClientMsgID, m.Fingerprint = "c1", "fp"
			olds := race(t, 4, func(int) (*chat.Message, error) { return s.PutMessage(ctxOf(t), m) })
			if n := winners(olds); n != 1 {
				t.Fatalf("%d puts of one identical message won, want 1", n)
			}
			again, err := s.PutMessage(ctxOf(t), m)
			must(t, err)
			if again == nil || !reflect.DeepEqual(*again, m) {
				t.Fatalf("PutMessage(identical, again) = %+v, want %+v", again, m)
			}
		}},
		{"PutMessage/concurrent puts at one seq: exactly one wins", func(t *testing.T, s chat.Store) {
			conv := newConv()
			olds := race(t, 8, func(int) (*chat.Message, error) { return s.PutMessage(ctxOf(t), msg(conv, 1, newID("u"))) })
			if n := winners(olds); n != 1 {
				t.Fatalf("%d puts won, want 1", n)
			}
			stored := getMessage(t, s, conv, 1)
			for _, old := range olds {
				if old != nil && !reflect.DeepEqual(*old, *stored) {
					t.Fatalf("loser saw %+v, stored %+v", old, stored)
				}
			}
		}},
		{"LatestSeq and MessageCount", func(t *testing.T, s chat.Store) {
			conv := newConv()
			seq, n, err := s.LatestSeq(ctxOf(t), conv)
			if err != nil || seq != 0 || n != 0 {
				t.Fatalf("LatestSeq(empty) = %d, %d, %v", seq, n, err)
			}
			_, err = s.ClaimClientMsgID(ctxOf(t), chat.Claim{ConversationID: conv, Key: "zz", Seq: 50, MessageID: "m", CreatedAt: at(0)})
			must(t, err)
			a, b := msg(conv, 2, "u"), msg(conv, 10, "u")
			b.Count = 7
			put(t, s, b, a)
			seq, n, err = s.LatestSeq(ctxOf(t), conv)
			if err != nil || seq != 10 || n != 7 {
				t.Fatalf("LatestSeq = %d, %d, %v; want 10, 7", seq, n, err)
			}
			for seq, want := range map[int64]int64{2: 2, 10: 7, 5: 0} {
				if got, err := s.MessageCount(ctxOf(t), conv, seq); err != nil || got != want {
					t.Fatalf("MessageCount(%d) = %d, %v; want %d", seq, got, err, want)
				}
			}
		}},
		{"History/range, direction and limit", func(t *testing.T, s chat.Store) {
			conv := newConv()
			for seq := int64(1); seq <= 12; seq++ {
				put(t, s, msg(conv, seq, "u"))
			}
			_, err := s.ClaimClientMsgID(ctxOf(t), chat.Claim{ConversationID: conv, Key: "k", Seq: 1, MessageID: "m", CreatedAt: at(0)})
			must(t, err)
			for _, tc := range []struct {
				lo, hi int64
				asc    bool
				limit  int
				want   []int64
			}{
				{1, 12, true, 100, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
				{3, 9, true, 4, []int64{3, 4, 5, 6}},
				{3, 9, false, 4, []int64{9, 8, 7, 6}},
				{10, 20, true, 5, []int64{10, 11, 12}},
				{0, 1, false, 5, []int64{1}},
				{13, 99, true, 5, nil},
				{1, 12, true, 0, nil},
			} {
				got, err := s.History(ctxOf(t), conv, tc.lo, tc.hi, tc.asc, tc.limit)
				must(t, err)
				if !reflect.DeepEqual(seqsOf(got), tc.want) {
					t.Fatalf("History(%d, %d, %v, %d) = %v, want %v", tc.lo, tc.hi, tc.asc, tc.limit, seqsOf(got), tc.want)
				}
			}
			got, err := s.History(ctxOf(t), conv, 5, 5, true, 1)
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], *getMessage(t, s, conv, 5)) {
				t.Fatalf("History(5) = %+v, %v", got, err)
			}
		}},
		{"AdvanceConversation/records the latest message only", func(t *testing.T, s chat.Store) {
			a, b := newID("u"), newID("u")
			ref := chat.ConvRef{ID: chat.DMID(a, b), Kind: chat.KindDM, A: min(a, b), B: max(a, b)}
			m5 := msg(ref.ID, 5, a)
			must(t, s.AdvanceConversation(ctxOf(t), ref, m5, "hello"))
			want := chat.ConvMeta{ID: ref.ID, Kind: chat.KindDM, A: ref.A, B: ref.B, LastSeq: 5, LastMsgID: m5.MessageID, LastAt: at(5),
				LastSender: a, LastPreview: "hello", LastKind: chat.KindMessage, LastCount: 5, CreatedAt: at(5)}
			check := func(step string) {
				t.Helper()
				ms, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{ref.ID})
				must(t, err)
				if got := ms[ref.ID]; !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: head = %+v, want %+v", step, got, want)
				}
			}
			check("first")
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(ref.ID, 4, b), "older"))
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(ref.ID, 5, b), "same"))
			check("older and same seq ignored")
			ev := chat.Message{ConversationID: ref.ID, Seq: 6, MessageID: "e6", Kind: chat.KindRecall, RefSeq: 5, SenderType: chat.SenderSystem, CreatedAt: at(6)}
			must(t, s.AdvanceConversation(ctxOf(t), ref, ev, ""))
			want.LastSeq, want.LastMsgID, want.LastAt, want.LastSender, want.LastPreview, want.LastKind, want.LastCount = 6, "e6", at(6), "", "", chat.KindRecall, 0
			check("event")
			m7 := msg(ref.ID, 7, b)
			must(t, s.AdvanceConversation(ctxOf(t), ref, m7, "back"))
			want.LastSeq, want.LastMsgID, want.LastAt, want.LastSender, want.LastPreview, want.LastKind, want.LastCount = 7, m7.MessageID, at(7), b, "back", chat.KindMessage, 7
			check("message after an event")
		}},
		{"AdvanceConversation/keeps a group's head fields", func(t *testing.T, s chat.Store) {
			g := newGroup(t, s, newID("u"))
			_, err := s.DissolveGroup(ctxOf(t), g.GroupID, at(1))
			must(t, err)
			ref := chat.ConvRef{ID: g.ConversationID, Kind: chat.KindGroup, GroupID: g.GroupID}
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(ref.ID, 1, g.OwnerID), "p"))
			ms, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{ref.ID})
			must(t, err)
			if got := ms[ref.ID]; !got.Closed || !got.CreatedAt.Equal(at(0)) || got.LastSeq != 1 || got.GroupID != g.GroupID {
				t.Fatalf("head = %+v", got)
			}
		}},
	}
}
