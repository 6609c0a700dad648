package storetest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

func chatChangeCases() []chatCase {
	return []chatCase{
		{"ChangeMessage/recall erases content and edits", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "a")
			m.Payload = &chat.Payload{Type: "card", Data: json.RawMessage(`{}`)}
			put(t, s, m)
			_, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Text: "edited", At: at(10), EventSeq: 2})
			must(t, err)
			got, old, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Recall: true, At: at(11), By: "admin", EventSeq: 3,
				RequireSender: "a", NotBefore: at(1)})
			must(t, err)
			want := m
			want.Text, want.Payload, want.Recalled, want.RecalledAt, want.RecalledBy, want.RecallSeq = "", nil, true, ptr(at(11)), "admin", 3
			if old != nil || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(*getMessage(t, s, conv, 1), want) {
				t.Fatalf("recall = %+v, %+v; want %+v", got, old, want)
			}
		}},
		{"ChangeMessage/edit keeps the highest event", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "a")
			put(t, s, m)
			got, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Text: "v5", At: at(10), EventSeq: 5})
			must(t, err)
			want := m
			want.Text, want.EditedAt, want.EditSeq = "v5", ptr(at(10)), 5
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("edit = %+v, want %+v", got, want)
			}
			for _, seq := range []int64{4, 5} {
				_, old, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Text: "stale", At: at(11), EventSeq: seq})
				wantConflict(t, err)
				if old == nil || !reflect.DeepEqual(*old, want) {
					t.Fatalf("stale edit %d saw %+v, want %+v", seq, old, want)
				}
			}
			if got := getMessage(t, s, conv, 1); !reflect.DeepEqual(*got, want) {
				t.Fatalf("stored %+v, want %+v", got, want)
			}
		}},
		{"ChangeMessage/conditions", func(t *testing.T, s chat.Store) {
			conv := newConv()
			recalled := msg(conv, 2, "a")
			event := chat.Message{ConversationID: conv, Seq: 3, MessageID: "e", Kind: chat.KindEdit, RefSeq: 1, SenderType: chat.SenderSystem, CreatedAt: at(3)}
			put(t, s, msg(conv, 1, "a"), recalled, event)
			_, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 2, Recall: true, At: at(9), EventSeq: 9})
			must(t, err)
			for _, tc := range []struct {
				name string
				ch   chat.MessageChange
				old  bool
			}{
				{"missing", chat.MessageChange{Seq: 7, Text: "x", EventSeq: 10}, false},
				{"recalled, edit", chat.MessageChange{Seq: 2, Text: "x", EventSeq: 10}, true},
				{"recalled, recall", chat.MessageChange{Seq: 2, Recall: true, EventSeq: 10}, true},
				{"event message", chat.MessageChange{Seq: 3, Recall: true, EventSeq: 10}, true},
				{"other sender", chat.MessageChange{Seq: 1, Recall: true, EventSeq: 10, RequireSender: "b"}, true},
				{"too old", chat.MessageChange{Seq: 1, Text: "x", EventSeq: 10, NotBefore: at(2)}, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tc.ch.ConversationID, tc.ch.At = conv, at(20)
					before := getMessage(t, s, conv, tc.ch.Seq)
					_, old, err := s.ChangeMessage(ctxOf(t), tc.ch)
					wantConflict(t, err)
					if (old != nil) != tc.old || old != nil && !reflect.DeepEqual(*old, *before) {
						t.Fatalf("old = %+v, want %+v", old, before)
					}
					if after := getMessage(t, s, conv, tc.ch.Seq); !reflect.DeepEqual(after, before) {
						t.Fatalf("changed: %+v, was %+v", after, before)
					}
				})
			}
		}},
		{"EraseMessage/only the message with the id", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "a")
			m.Payload = &chat.Payload{Type: "card"}
			put(t, s, m)
			_, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Text: "e", At: at(5), EventSeq: 2})
			must(t, err)
			before := getMessage(t, s, conv, 1)
			must(t, s.EraseMessage(ctxOf(t), conv, 1, "other", at(6)))
			must(t, s.EraseMessage(ctxOf(t), conv, 9, m.MessageID, at(6)))
			if got := getMessage(t, s, conv, 1); !reflect.DeepEqual(got, before) {
				t.Fatalf("changed by another id: %+v", got)
			}
			if got := getMessage(t, s, conv, 9); got != nil {
				t.Fatalf("created: %+v", got)
			}
			for _, when := range []int64{7, 8} { // the first erase's time stays
				must(t, s.EraseMessage(ctxOf(t), conv, 1, m.MessageID, at(when)))
			}
			want := *before
			want.Text, want.Payload, want.Recalled, want.RecalledAt = "", nil, true, ptr(at(7))
			if got := getMessage(t, s, conv, 1); !reflect.DeepEqual(*got, want) {
				t.Fatalf("erased = %+v, want %+v", got, want)
			}
		}},
	}
}
