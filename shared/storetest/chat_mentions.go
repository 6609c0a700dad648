package storetest

import (
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

func chatMentionCases() []chatCase {
	return []chatCase{
		{"RecordMentions/on entries once, skipping a missing or read one; MarkRead prunes", func(t *testing.T, s chat.Store) {
			ref := newDM(t, s)
			ghost := newID("u")
			for _, seq := range []int64{3, 5, 3} { // 3 again: a retry
				must(t, s.RecordMentions(ctxOf(t), ref.ID, seq, []string{ref.A, ghost}, false))
			}
			if e, _ := entry(t, s, ref.A, ref.ID); !slices.Equal(e.Mentions, []int64{3, 5}) {
				t.Fatalf("mentions = %v, want [3 5]", e.Mentions)
			}
			if _, ok := entry(t, s, ghost, ref.ID); ok {
				t.Fatal("a mention created an entry")
			}
			e, err := s.MarkRead(ctxOf(t), ref.A, ref.ID, chat.ReadMark{Seq: 4})
			must(t, err)
			if !slices.Equal(e.Mentions, []int64{5}) {
				t.Fatalf("MarkRead returned mentions %v, want [5]", e.Mentions)
			}
			if e, _ := entry(t, s, ref.A, ref.ID); !slices.Equal(e.Mentions, []int64{5}) {
				t.Fatalf("stored mentions after reading to 4 = %v, want [5]", e.Mentions)
			}
			must(t, s.RecordMentions(ctxOf(t), ref.ID, 2, []string{ref.A}, false)) // read already
			if e, _ := entry(t, s, ref.A, ref.ID); !slices.Equal(e.Mentions, []int64{5}) {
				t.Fatalf("a read mention was recorded: %v", e.Mentions)
			}
		}},
		{"ChangeMessage/a recall erases the message's mentions", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "u")
			m.Mentions = []string{"a", chat.MentionAll}
			put(t, s, m)
			if got := getMessage(t, s, conv, 1); !slices.Equal(got.Mentions, m.Mentions) {
				t.Fatalf("stored mentions = %v", got.Mentions)
			}
			_, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Recall: true, At: at(5), EventSeq: 2})
			must(t, err)
			if got := getMessage(t, s, conv, 1); got.Mentions != nil {
				t.Fatalf("mentions after recall = %v", got.Mentions)
			}
		}},
		{"RecordMentions/@all on the head keeps the newest", func(t *testing.T, s chat.Store) {
			conv := newConv()
			ref, err := chat.ParseConversationID(string(conv))
			must(t, err)
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(conv, 1, "u"), ""))
			for seq := int64(1); seq <= chat.MaxMentionAllKept+2; seq++ {
				must(t, s.RecordMentions(ctxOf(t), conv, seq, nil, true))
			}
			must(t, s.RecordMentions(ctxOf(t), conv, chat.MaxMentionAllKept+2, nil, true)) // a retry
			metas, err := s.GetConvMetas(ctxOf(t), []chat.ConversationID{conv})
			must(t, err)
			got := metas[conv].MentionAll
			if len(got) != chat.MaxMentionAllKept || got[0] != 3 || got[len(got)-1] != chat.MaxMentionAllKept+2 {
				t.Fatalf("@all seqs = %v", got)
			}
			// A later head update keeps them.
			must(t, s.AdvanceConversation(ctxOf(t), ref, msg(conv, 30, "u"), "x"))
			if metas, _ := s.GetConvMetas(ctxOf(t), []chat.ConversationID{conv}); len(metas[conv].MentionAll) != chat.MaxMentionAllKept {
				t.Fatalf("@all seqs after advancing = %v", metas[conv].MentionAll)
			}
		}},
	}
}
