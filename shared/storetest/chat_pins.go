package storetest

import (
	"fmt"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

func pinSeqs(ps []chat.Pin) string {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.Seq
	}
	return fmt.Sprint(out)
}

func chatPinCases() []chatCase {
	return []chatCase{
		{"PinMessage/up to the limit, newest first, a repeat keeps the first pin", func(t *testing.T, s chat.Store) {
			conv := newConv()
			ref, err := chat.ParseConversationID(string(conv))
			must(t, err)
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(conv, 5, "u"), ""))
			for seq := int64(1); seq <= 3; seq++ {
				ps, err := s.PinMessage(ctxOf(t), conv, chat.Pin{Seq: seq, PinnedBy: "a", PinnedAt: at(seq)}, 3)
				must(t, err)
				if len(ps) != int(seq) {
					t.Fatalf("pin %d: %v", seq, pinSeqs(ps))
				}
			}
			_, err = s.PinMessage(ctxOf(t), conv, chat.Pin{Seq: 4, PinnedAt: at(4)}, 3)
			wantConflict(t, err)
			ps, err := s.PinMessage(ctxOf(t), conv, chat.Pin{Seq: 2, PinnedBy: "b", PinnedAt: at(9)}, 3)
			must(t, err)
			if pinSeqs(ps) != "[3 2 1]" || ps[1].PinnedBy != "a" || !ps[1].PinnedAt.Equal(at(2)) {
				t.Fatalf("after a repeat: %+v", ps)
			}
			metas, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{conv})
			must(t, err)
			if pinSeqs(metas[conv].Pins) != "[3 2 1]" {
				t.Fatalf("head pins: %+v", metas[conv].Pins)
			}
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(conv, 6, "u"), "x")) // keeps them
			ps, err = s.UnpinMessage(ctxOf(t), conv, 2)
			must(t, err)
			if pinSeqs(ps) != "[3 1]" {
				t.Fatalf("after unpin: %v", pinSeqs(ps))
			}
			ps, err = s.UnpinMessage(ctxOf(t), conv, 2)
			must(t, err)
			if pinSeqs(ps) != "[3 1]" {
				t.Fatalf("after unpinning again: %v", pinSeqs(ps))
			}
			if v, err := s.ReadConversation(ctxOf(t), chat.ConvQuery{ID: conv}); err != nil || pinSeqs(v.Meta.Pins) != "[3 1]" {
				t.Fatalf("ReadConversation pins: %+v %v", v.Meta, err)
			}
		}},
		{"PinMessage/no head is a conflict", func(t *testing.T, s chat.Store) {
			_, err := s.PinMessage(ctxOf(t), newConv(), chat.Pin{Seq: 1, PinnedAt: at(1)}, 10)
			wantConflict(t, err)
		}},
	}
}
