package storetest

import (
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

// threadReply is a plain message at seq replying in the thread of root.
func threadReply(conv chat.ConversationID, seq, root int64) chat.Message {
	m := msg(conv, seq, "u")
	m.ThreadRoot = root
	return m
}

func record(t *testing.T, s chat.Store, m chat.Message) chat.Thread {
	t.Helper()
	th, err := s.RecordThreadReply(ctxOf(t), m.ConversationID, m.ThreadRoot, m)
	must(t, err)
	return th
}

func wantThread(t *testing.T, s chat.Store, conv chat.ConversationID, root, n, last int64) {
	t.Helper()
	m := getMessage(t, s, conv, root)
	if m == nil || m.Thread == nil || m.Thread.ReplyCount != n || m.Thread.LastReplySeq != last || !m.Thread.LastReplyAt.Equal(at(last)) {
		t.Fatalf("root %d thread = %+v, want %d replies, the last %d at %v", root, m, n, last, at(last))
	}
}

func chatThreadCases() []chatCase {
	return []chatCase{
		{"GetMessages/present ones, absent ones left out, duplicates read once", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "u")
			m.ReplyTo = 7
			put(t, s, m, msg(conv, 2, "u"))
			got, err := s.GetMessages(ctxOf(t), conv, []int64{2, 1, 5, 1})
			must(t, err)
			if len(got) != 2 || got[1].MessageID != m.MessageID || got[1].ReplyTo != 7 || got[2].Seq != 2 {
				t.Fatalf("GetMessages = %+v", got)
			}
			if got, err := s.GetMessages(ctxOf(t), conv, nil); err != nil || len(got) != 0 {
				t.Fatalf("GetMessages(none) = %v, %v", got, err)
			}
		}},
		{"RecordThreadReply/counts each reply once and keeps the newest", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, msg(conv, 1, "u"), threadReply(conv, 2, 1), threadReply(conv, 3, 1), threadReply(conv, 4, 1))
			if th := record(t, s, threadReply(conv, 3, 1)); th.ReplyCount != 1 || th.LastReplySeq != 3 {
				t.Fatalf("first record = %+v", th)
			}
			wantThread(t, s, conv, 1, 1, 3)
			record(t, s, threadReply(conv, 3, 1)) // again: a retry
			record(t, s, threadReply(conv, 4, 1))
			record(t, s, threadReply(conv, 2, 1)) // an older reply recorded last
			wantThread(t, s, conv, 1, 3, 4)
			if m := getMessage(t, s, conv, 4); m.ThreadRoot != 1 || m.Thread != nil {
				t.Fatalf("reply = %+v", m)
			}
		}},
		{"RecordThreadReply/concurrent replies give the exact count", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, msg(conv, 1, "u"))
			const n = 20
			for i := range n {
				put(t, s, threadReply(conv, int64(i+2), 1))
			}
			race(t, n, func(i int) (*chat.Thread, error) {
				th, err := s.RecordThreadReply(ctxOf(t), conv, 1, threadReply(conv, int64(i+2), 1))
				return &th, err
			})
			wantThread(t, s, conv, 1, n, n+1)
		}},
		{"RecordThreadReply/a missing root is not created", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, threadReply(conv, 2, 1))
			record(t, s, threadReply(conv, 2, 1))
			if m := getMessage(t, s, conv, 1); m != nil {
				t.Fatalf("root = %+v, want none", m)
			}
		}},
		{"RecordThreadReply/a recalled root keeps its thread", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, msg(conv, 1, "u"), threadReply(conv, 2, 1))
			record(t, s, threadReply(conv, 2, 1))
			_, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Recall: true, At: at(9), EventSeq: 3})
			must(t, err)
			wantThread(t, s, conv, 1, 1, 2)
		}},
		{"ThreadReplies/pages by seq, one thread only, not in history", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, msg(conv, 1, "u"), msg(conv, 10, "u"))
			for _, r := range []chat.Message{threadReply(conv, 2, 1), threadReply(conv, 3, 10), threadReply(conv, 4, 1),
				threadReply(conv, 11, 1), threadReply(conv, 12, 10)} {
				put(t, s, r)
				record(t, s, r)
			}
			for _, tc := range []struct {
				root, after int64
				limit       int
				want        []int64
			}{{1, 0, 10, []int64{2, 4, 11}}, {1, 0, 2, []int64{2, 4}}, {1, 4, 2, []int64{11}}, {1, 11, 5, nil}, {10, 0, 5, []int64{3, 12}}, {5, 0, 5, nil}} {
				got, err := s.ThreadReplies(ctxOf(t), conv, tc.root, tc.after, tc.limit)
				must(t, err)
				if !slices.Equal(got, tc.want) {
					t.Errorf("ThreadReplies(root %d, after %d, limit %d) = %v, want %v", tc.root, tc.after, tc.limit, got, tc.want)
				}
			}
			h, err := s.History(ctxOf(t), conv, 1, chat.MaxSeq, true, 100)
			must(t, err)
			if got := seqsOf(h); !slices.Equal(got, []int64{1, 2, 3, 4, 10, 11, 12}) {
				t.Fatalf("history = %v", got)
			}
			if seq, _, err := s.LatestSeq(ctxOf(t), conv); err != nil || seq != 12 {
				t.Fatalf("LatestSeq = %d, %v", seq, err)
			}
		}},
	}
}
