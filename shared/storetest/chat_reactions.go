package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

func counts(m chat.Message) string {
	var parts []string
	for _, r := range m.Reactions {
		parts = append(parts, fmt.Sprintf("%s=%d", r.Emoji, r.Count))
	}
	return strings.Join(parts, " ")
}

func react(conv chat.ConversationID, seq int64, user, emoji string, remove bool) chat.ReactionChange {
	return chat.ReactionChange{ConversationID: conv, Seq: seq, UserID: user, Emoji: emoji, Remove: remove, MaxKinds: 3, MaxPerUser: 2}
}

func chatReactionCases() []chatCase {
	return []chatCase{
		{"React/adds and removes, counted from the reactors", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, msg(conv, 1, "u"))
			steps := []struct {
				ch   chat.ReactionChange
				want string
			}{
				{react(conv, 1, "a", "👍", false), "👍=1"},
				{react(conv, 1, "b", "👍", false), "👍=2"},
				{react(conv, 1, "b", "🎉", false), "👍=2 🎉=1"},
				{react(conv, 1, "a", "👍", true), "🎉=1 👍=1"},
				{react(conv, 1, "b", "👍", true), "🎉=1"},
			}
			for i, st := range steps {
				m, old, err := s.React(ctxOf(t), st.ch)
				must(t, err)
				if old != nil || counts(m) != st.want {
					t.Fatalf("step %d: %q (old %v), want %q", i, counts(m), old, st.want)
				}
			}
			m := getMessage(t, s, conv, 1)
			if counts(*m) != "🎉=1" || !slices.Equal(m.Reactors["b"], []string{"🎉"}) || len(m.Reactors) != 1 {
				t.Fatalf("stored: %q %v", counts(*m), m.Reactors)
			}
			// The emoji's last reactor left, so it no longer counts
			// against the distinct limit (3): two new ones fit.
			for _, ch := range []chat.ReactionChange{react(conv, 1, "c", "a", false), react(conv, 1, "c", "b", false)} {
				_, _, err := s.React(ctxOf(t), ch)
				must(t, err)
			}
		}},
		{"React/refuses repeats, limits, recalled and event messages with the message as it stands", func(t *testing.T, s chat.Store) {
			conv := newConv()
			ev := msg(conv, 3, "u")
			ev.Kind, ev.RefSeq = chat.KindRecall, 2
			put(t, s, msg(conv, 1, "u"), msg(conv, 2, "u"), ev)
			for _, ch := range []chat.ReactionChange{react(conv, 1, "a", "x", false), react(conv, 1, "a", "y", false), react(conv, 1, "b", "z", false)} {
				_, _, err := s.React(ctxOf(t), ch)
				must(t, err)
			}
			_, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 2, Recall: true, At: at(9), EventSeq: 3})
			must(t, err)
			for name, ch := range map[string]chat.ReactionChange{
				"a repeat":              react(conv, 1, "a", "x", false),
				"past the per-user cap": react(conv, 1, "a", "z", false),
				"past the distinct cap": react(conv, 1, "b", "w", false),
				"removing what is not":  react(conv, 1, "b", "x", true),
				"a recalled message":    react(conv, 2, "a", "x", false),
				"an event message":      react(conv, 3, "a", "x", false),
			} {
				_, old, err := s.React(ctxOf(t), ch)
				wantConflict(t, err)
				if old == nil || old.Seq != ch.Seq {
					t.Fatalf("%s: old = %+v", name, old)
				}
			}
			if _, old, err := s.React(ctxOf(t), react(conv, 9, "a", "x", false)); old != nil {
				t.Fatalf("a missing message: %v %v", old, err)
			} else {
				wantConflict(t, err)
			}
			if m := getMessage(t, s, conv, 1); counts(*m) != "x=1 y=1 z=1" {
				t.Fatalf("after refusals: %q", counts(*m))
			}
		}},
		{"React/concurrent reactors are counted exactly", func(t *testing.T, s chat.Store) {
			conv := newConv()
			put(t, s, msg(conv, 1, "u"))
			const n = 50
			race(t, n, func(i int) (*chat.Message, error) {
				_, old, err := s.React(ctxOf(t), react(conv, 1, fmt.Sprint("u", i), "👍", false))
				return old, err
			})
			if m := getMessage(t, s, conv, 1); counts(*m) != fmt.Sprintf("👍=%d", n) || len(m.Reactors) != n {
				t.Fatalf("counts %q, %d reactors", counts(*m), len(m.Reactors))
			}
		}},
	}
}
