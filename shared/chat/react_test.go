package chat_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

func reactionsOf(m chat.Message) string {
	var parts []string
	for _, r := range m.Reactions {
		parts = append(parts, fmt.Sprintf("%s=%d", r.Emoji, r.Count))
	}
	return strings.Join(parts, " ")
}

// TestReactions: adding and removing reactions as the caller; counts per
// emoji for everyone and each reader's own in history and sync; a
// message.reaction event per change; no seq taken; repeats change nothing.
func TestReactions(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rx", 3)
	g := f.group(t, u[0], u[1], u[2])
	conv := chat.GroupConversationID(g.GroupID)
	cid := string(conv)
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "vote"})
	steps := []struct {
		who    string
		emoji  string
		remove bool
		want   string // counts after
		mine   []string
	}{
		{u[0], "👍", false, "👍=1", []string{"👍"}},
		{u[1], "👍", false, "👍=2", []string{"👍"}},
		{u[1], "🎉", false, "👍=2 🎉=1", []string{"🎉", "👍"}},
		{u[1], "🎉", false, "👍=2 🎉=1", []string{"🎉", "👍"}}, // again: nothing changes
		{u[2], "👨‍👩‍👧", false, "👍=2 🎉=1 👨‍👩‍👧=1", []string{"👨‍👩‍👧"}},
		// Ties are ordered by emoji.
		{u[0], "👍", true, "🎉=1 👍=1 👨‍👩‍👧=1", nil},
		{u[0], "👍", true, "🎉=1 👍=1 👨‍👩‍👧=1", nil}, // again: nothing changes
		{u[2], "👨‍👩‍👧", true, "🎉=1 👍=1", nil},
	}
	f.events.events = nil
	for i, st := range steps {
		m, err := f.svc.React(ctx, user(st.who), cid, 1, st.emoji, st.remove)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := reactionsOf(m); got != st.want || !slices.Equal(m.MyReactions, st.mine) {
			t.Fatalf("step %d: %q mine %v, want %q %v", i, got, m.MyReactions, st.want, st.mine)
		}
	}
	var evs []string
	for _, e := range f.events.events {
		if e.Type == chat.EventMessageReaction {
			evs = append(evs, e.Actor+":"+e.Reaction.Op+":"+e.Reaction.Emoji+":"+reactionsOf(*e.Message))
			if e.Message.Reactors != nil || e.Seq != 1 {
				t.Errorf("event names reactors or the wrong seq: %+v", e)
			}
		}
	}
	if len(evs) != 6 {
		t.Fatalf("%d reaction events, want 6 (one per change): %v", len(evs), evs)
	}
	if got := lastSeq(t, f.svc, user(u[0]), conv); got != 1 {
		t.Fatalf("reactions took seqs: last seq %d", got)
	}
	// Each reader sees its own in history and sync; everyone the counts.
	for _, tc := range []struct {
		who  string
		mine []string
	}{{u[0], nil}, {u[1], []string{"🎉", "👍"}}, {u[2], nil}} {
		for name, msgs := range map[string][]chat.Message{"history": history(t, f, user(tc.who), conv), "sync": syncAll(t, f.svc, user(tc.who), nil)} {
			if len(msgs) != 1 || reactionsOf(msgs[0]) != "🎉=1 👍=1" || !slices.Equal(msgs[0].MyReactions, tc.mine) {
				t.Errorf("%s of %s: %+v", name, tc.who, msgs)
			}
		}
	}
}

// TestBadReactionsWriteNothing: every refused reaction has its code and
// changes nothing.
func TestBadReactionsWriteNothing(t *testing.T) {
	f := newFixture(t, chat.Config{MaxReactionKinds: 2, MaxReactionsByUser: 2})
	u := f.newUsers(t, "rxb", 4)
	g := f.group(t, u[0], u[1], u[2])
	cid := string(chat.GroupConversationID(g.GroupID))
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "a"}) // 1
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "b"}) // 2
	if _, err := f.svc.Recall(ctx, user(u[0]), cid, 2); err != nil {     // 3: recall event
		t.Fatal(err)
	}
	for _, e := range []string{"a", "b"} {
		if _, err := f.svc.React(ctx, user(u[1]), cid, 1, e, false); err != nil {
			t.Fatal(err)
		}
	}
	mute := true
	if _, err := f.svc.UpdateMember(ctx, user(u[0]), g.GroupID, u[2], chat.MemberUpdate{Muted: &mute}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		who   string
		seq   int64
		emoji string
		want  apierror.Code
	}{
		// u[1] has a and b: with a per-user limit of 2, a third is refused.
		{"a third emoji by one user", u[1], 1, "c", apierror.ReactionLimit},
		{"a third distinct emoji", u[0], 1, "c", apierror.ReactionLimit},
		{"a recalled message", u[0], 2, "a", apierror.MessageRecalled},
		{"a recall event", u[0], 3, "a", apierror.ValidationFailed},
		{"past the last seq", u[0], 4, "a", apierror.SeqOutOfRange},
		{"a non-member", u[3], 1, "a", apierror.NotFound},
		{"a muted member", u[2], 1, "a", apierror.Muted},
		{"an empty emoji", u[0], 1, "", apierror.ValidationFailed},
		{"an emoji with a space", u[0], 1, "a b", apierror.ValidationFailed},
		{"an emoji too long", u[0], 1, strings.Repeat("👍", 9), apierror.ValidationFailed},
		{"invalid UTF-8", u[0], 1, "\xff", apierror.ValidationFailed},
	}
	for _, tc := range tests {
		_, err := f.svc.React(ctx, user(tc.who), cid, tc.seq, tc.emoji, false)
		if apierror.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if _, err := f.svc.React(ctx, admin(), cid, 1, "a", false); apierror.CodeOf(err) != apierror.Forbidden {
		t.Errorf("admin token: %v", err)
	}
	msgs := history(t, f, user(u[0]), chat.GroupConversationID(g.GroupID))
	if len(msgs) != 3 || reactionsOf(msgs[0]) != "a=1 b=1" || msgs[1].Reactions != nil {
		t.Fatalf("after refused reactions: %+v", msgs)
	}
	// Removing what one has not is no error and changes nothing; the
	// muted member may still remove.
	if m, err := f.svc.React(ctx, user(u[2]), cid, 1, "a", true); err != nil || reactionsOf(m) != "a=1 b=1" {
		t.Fatalf("remove by a muted non-reactor: %+v %v", m, err)
	}
}

// TestConcurrentReactions: 50 users reacting to one message at once (each
// with 👍, every other one also with ❤️, some twice) give exact counts.
func TestConcurrentReactions(t *testing.T) {
	f := newFixture(t, chat.Config{})
	const n = 50
	u := f.newUsers(t, "rxc", n+1)
	g := f.group(t, u[0], u[1:]...)
	cid := string(chat.GroupConversationID(g.GroupID))
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "react!"})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			who := user(u[i+1])
			if _, errs[i] = f.svc.React(ctx, who, cid, 1, "👍", false); errs[i] != nil {
				return
			}
			if i%2 == 0 {
				_, errs[i] = f.svc.React(ctx, who, cid, 1, "❤️", false)
			}
			if errs[i] == nil && i%5 == 0 {
				_, errs[i] = f.svc.React(ctx, who, cid, 1, "👍", false) // a repeat counts once
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	msgs := history(t, f, user(u[0]), chat.GroupConversationID(g.GroupID))
	if got, want := reactionsOf(msgs[0]), fmt.Sprintf("👍=%d ❤️=%d", n, n/2); len(msgs) != 1 || got != want {
		t.Fatalf("counts %q, want %q", got, want)
	}
}
