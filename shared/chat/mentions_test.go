package chat_test

import (
	"fmt"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// mentionState returns a user's unread mentions and the first one's seq
// in a conversation (0 when none).
func mentionState(t *testing.T, svc *chat.Service, who string, conv chat.ConversationID) (int64, int64) {
	t.Helper()
	c, err := svc.GetConversation(ctx, user(who), string(conv), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.UnreadMentions == nil {
		t.Fatalf("no unread_mentions for %s: %+v", who, c)
	}
	var first int64
	if c.FirstUnreadMention != nil {
		first = *c.FirstUnreadMention
	}
	return *c.UnreadMentions, first
}

// TestMentions: a mentioned member's conversation shows its unread
// mentions (count and first seq) until read; @all counts for every
// member; the list shows them too; the sender's own mention does not
// count; a retried send records once.
func TestMentions(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "mn", 4)
	owner, bob, carol, dave := u[0], u[1], u[2], u[3]
	g := f.group(t, owner, bob, carol, dave)
	conv := chat.GroupConversationID(g.GroupID)
	f.send(t, user(carol), chat.SendInput{ToGroup: g.GroupID, Text: "hi"})                                        // 1
	f.send(t, user(carol), chat.SendInput{ToGroup: g.GroupID, Text: "@bob", Mentions: []string{bob, carol, bob}}) // 2
	in := chat.SendInput{ToGroup: g.GroupID, Text: "@bob again", Mentions: []string{bob}, ClientMsgID: "k"}
	m := f.send(t, user(carol), in) // 3
	if m2 := f.send(t, user(carol), in); m2.Seq != m.Seq {
		t.Fatalf("retry stored another message: %d", m2.Seq)
	}
	all := f.send(t, user(owner), chat.SendInput{ToGroup: g.GroupID, Text: "all hands", Mentions: []string{chat.MentionAll}}) // 4
	if fmt.Sprint(all.Mentions) != "[@all]" || fmt.Sprint(m.Mentions) != "["+bob+"]" {
		t.Fatalf("mentions: %v %v", all.Mentions, m.Mentions)
	}
	tests := []struct {
		who         string
		n, firstSeq int64
	}{{bob, 3, 2}, {carol, 1, 4}, {dave, 1, 4}, {owner, 1, 4}}
	for _, tc := range tests {
		if n, first := mentionState(t, f.svc, tc.who, conv); n != tc.n || first != tc.firstSeq {
			t.Errorf("%s: %d unread mentions from %d, want %d from %d", tc.who, n, first, tc.n, tc.firstSeq)
		}
	}
	// Reading up to 2 leaves bob 3 and 4; reading everything clears it.
	if st, err := f.svc.MarkRead(ctx, user(bob), string(conv), 2, ""); err != nil || st.UnreadMentions != 2 {
		t.Fatalf("read to 2: %+v %v", st, err)
	}
	if n, first := mentionState(t, f.svc, bob, conv); n != 2 || first != 3 {
		t.Fatalf("bob after reading to 2: %d from %d", n, first)
	}
	if _, err := f.svc.MarkRead(ctx, user(bob), string(conv), 4, ""); err != nil {
		t.Fatal(err)
	}
	if n, first := mentionState(t, f.svc, bob, conv); n != 0 || first != 0 {
		t.Fatalf("bob after reading all: %d from %d", n, first)
	}
	list, err := f.svc.ListConversations(ctx, user(dave), "", 0, "")
	if err != nil || len(list.Conversations) != 1 || *list.Conversations[0].UnreadMentions != 1 {
		t.Fatalf("dave's list: %+v %v", list, err)
	}
	// A DM: the peer may be mentioned.
	dm := f.send(t, user(bob), chat.SendInput{ToUser: dave, Text: "hey", Mentions: []string{dave}})
	if n, first := mentionState(t, f.svc, dave, dm.ConversationID); n != 1 || first != 1 {
		t.Fatalf("dave in the DM: %d from %d", n, first)
	}
}

// TestBadMentionsWriteNothing: mentioning a non-member, @all by a plain
// member or in a DM, too many or bad ids: each its documented code, and
// nothing stored or recorded.
func TestBadMentionsWriteNothing(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "mnb", 4)
	owner, bob, carol, outsider := u[0], u[1], u[2], u[3]
	g := f.group(t, owner, bob, carol)
	conv := chat.GroupConversationID(g.GroupID)
	f.send(t, user(owner), chat.SendInput{ToGroup: g.GroupID, Text: "hi"})
	many := make([]string, chat.MaxMentions+1)
	for i := range many {
		many[i] = fmt.Sprint("x", i)
	}
	tests := []struct {
		name string
		who  string
		in   chat.SendInput
		want apierror.Code
	}{
		{"a non-member", bob, chat.SendInput{ToGroup: g.GroupID, Text: "x", Mentions: []string{carol, outsider}}, apierror.ValidationFailed},
		{"@all by a plain member", bob, chat.SendInput{ToGroup: g.GroupID, Text: "x", Mentions: []string{chat.MentionAll}}, apierror.Forbidden},
		{"@all in a DM", bob, chat.SendInput{ToUser: carol, Text: "x", Mentions: []string{chat.MentionAll}}, apierror.ValidationFailed},
		{"someone else in a DM", bob, chat.SendInput{ToUser: carol, Text: "x", Mentions: []string{owner}}, apierror.ValidationFailed},
		{"a bad id", bob, chat.SendInput{ToGroup: g.GroupID, Text: "x", Mentions: []string{"a b"}}, apierror.InvalidID},
		{"too many", owner, chat.SendInput{ToGroup: g.GroupID, Text: "x", Mentions: many}, apierror.ValidationFailed},
	}
	for _, tc := range tests {
		_, _, err := f.svc.Send(ctx, user(tc.who), tc.in)
		if apierror.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if got := lastSeq(t, f.svc, user(owner), conv); got != 1 {
		t.Fatalf("refused sends stored messages: last seq %d", got)
	}
	for _, who := range []string{owner, bob, carol} {
		if n, _ := mentionState(t, f.svc, who, conv); n != 0 {
			t.Errorf("%s has %d unread mentions after refused sends", who, n)
		}
	}
	if list, err := f.svc.ListConversations(ctx, user(carol), "", 0, ""); err != nil || len(list.Conversations) != 1 {
		t.Fatalf("a refused DM send created a conversation: %+v %v", list, err)
	}
	// An admin in the group may mention @all; so may the system.
	role := chat.RoleAdmin
	if _, err := f.svc.UpdateMember(ctx, user(owner), g.GroupID, bob, chat.MemberUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	f.send(t, user(bob), chat.SendInput{ToGroup: g.GroupID, Text: "all", Mentions: []string{chat.MentionAll}})
	f.send(t, admin(), chat.SendInput{ToGroup: g.GroupID, System: true, Text: "sys", Mentions: []string{chat.MentionAll}})
	if n, first := mentionState(t, f.svc, carol, conv); n != 2 || first != 2 {
		t.Fatalf("carol: %d from %d", n, first)
	}
}

// TestMentionAllKeepsTheNewest: the head keeps the newest
// MaxMentionAllKept @all seqs, so a member far behind sees that many.
func TestMentionAllKeepsTheNewest(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "mna", 2)
	g := f.group(t, u[0], u[1])
	conv := chat.GroupConversationID(g.GroupID)
	for i := 0; i < chat.MaxMentionAllKept+3; i++ {
		f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "all", Mentions: []string{chat.MentionAll}})
	}
	if n, first := mentionState(t, f.svc, u[1], conv); n != chat.MaxMentionAllKept || first != 4 {
		t.Fatalf("%d from %d, want %d from 4", n, first, chat.MaxMentionAllKept)
	}
}
