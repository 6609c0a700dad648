package chat_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

func pinnedSeqs(ps []chat.Pin) string {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.Seq
	}
	return fmt.Sprint(out)
}

// TestPins: owners and admins pin up to 10 messages in a group, the 11th
// is pin_limit and changes nothing; pins show on every member's
// conversation, newest first; pin and unpin events are pushed; a repeat
// changes nothing; recalling a pinned message unpins it; in a DM either
// participant may pin.
func TestPins(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "pin", 3)
	owner, bob, carol := u[0], u[1], u[2]
	g := f.group(t, owner, bob, carol)
	conv := chat.GroupConversationID(g.GroupID)
	cid := string(conv)
	for i := 0; i < 12; i++ {
		f.send(t, user(carol), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("m", i+1)})
	}
	svc, clock := f.clocked(nil)
	f.events.events = nil
	for seq := int64(1); seq <= chat.MaxPins; seq++ {
		if _, err := svc.Pin(ctx, user(owner), cid, seq, false); err != nil {
			t.Fatalf("pin %d: %v", seq, err)
		}
		*clock = clock.Add(time.Second) // distinct pin times
	}
	if _, err := svc.Pin(ctx, user(owner), cid, 11, false); apierror.CodeOf(err) != apierror.PinLimit {
		t.Fatalf("11th pin: %v", err)
	}
	if st, err := svc.Pin(ctx, user(owner), cid, 3, false); err != nil || len(st.Pinned) != chat.MaxPins {
		t.Fatalf("pinning a pinned message: %+v %v", st, err) // at the limit, still fine
	}
	c, err := f.svc.GetConversation(ctx, user(carol), cid, "")
	if err != nil || pinnedSeqs(c.Pinned) != "[10 9 8 7 6 5 4 3 2 1]" || c.Pinned[0].PinnedBy != owner {
		t.Fatalf("carol's conversation: %+v %v", c.Pinned, err)
	}
	if got := len(pushed(f, chat.EventMessagePinned)); got != chat.MaxPins {
		t.Fatalf("%d pin events, want %d", got, chat.MaxPins)
	}
	// A plain member may not pin or unpin.
	for _, unpin := range []bool{false, true} {
		if _, err := svc.Pin(ctx, user(bob), cid, 1, unpin); apierror.CodeOf(err) != apierror.Forbidden {
			t.Fatalf("plain member (unpin %v): %v", unpin, err)
		}
	}
	// Unpin makes room; an admin may pin.
	role := chat.RoleAdmin
	if _, err := f.svc.UpdateMember(ctx, user(owner), g.GroupID, bob, chat.MemberUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	if st, err := svc.Pin(ctx, user(bob), cid, 1, true); err != nil || len(st.Pinned) != chat.MaxPins-1 {
		t.Fatalf("unpin: %+v %v", st, err)
	}
	if _, err := svc.Pin(ctx, user(bob), cid, 1, true); err != nil {
		t.Fatalf("unpinning what is not pinned: %v", err)
	}
	if _, err := svc.Pin(ctx, user(bob), cid, 11, false); err != nil {
		t.Fatalf("pin after unpin: %v", err)
	}
	// Recalling a pinned message unpins it, and the push shows it recalled.
	if _, err := f.svc.Recall(ctx, user(owner), cid, 11); err != nil {
		t.Fatal(err)
	}
	c, _ = f.svc.GetConversation(ctx, user(carol), cid, "")
	if pinnedSeqs(c.Pinned) != "[10 9 8 7 6 5 4 3 2]" {
		t.Fatalf("after recalling a pinned message: %v", pinnedSeqs(c.Pinned))
	}
	un := pushed(f, chat.EventMessageUnpinned)
	if len(un) != 2 || un[1].Seq != 11 || !un[1].Message.Recalled || un[1].Message.Text != "" {
		t.Fatalf("unpin events: %+v", un)
	}
	if _, err := svc.Pin(ctx, user(owner), cid, 11, false); apierror.CodeOf(err) != apierror.MessageRecalled {
		t.Fatalf("pinning a recalled message: %v", err)
	}
	if _, err := svc.Pin(ctx, user(owner), cid, 13, false); apierror.CodeOf(err) != apierror.ValidationFailed {
		t.Fatalf("pinning the recall event: %v", err)
	}
	// A DM: either side.
	dm := f.send(t, user(bob), chat.SendInput{ToUser: carol, Text: "hi"})
	if st, err := svc.Pin(ctx, user(carol), string(dm.ConversationID), 1, false); err != nil || pinnedSeqs(st.Pinned) != "[1]" {
		t.Fatalf("DM pin: %+v %v", st, err)
	}
	if _, err := svc.Pin(ctx, user(owner), string(dm.ConversationID), 1, false); apierror.CodeOf(err) != apierror.NotFound {
		t.Fatalf("pin in a DM of others: %v", err)
	}
}

func pushed(f *fixture, typ chat.EventType) []chat.Event {
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	var out []chat.Event
	for _, e := range f.events.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}
