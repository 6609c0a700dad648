package main

import (
	"fmt"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

// TestSendReplyFrames: a send frame's reply_to and thread_root reach the
// use case; the ack and the peer's push carry the quote and the thread
// root, and a bad ref gets its code with nothing stored or pushed.
func TestSendReplyFrames(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "rich", 2)
	alice, bob := u[0], u[1]
	a, b := f.connect(t, alice), f.connect(t, bob)
	conv := string(chat.DMID(alice, bob))
	wantAck(t, f.call(t, alice, a, fmt.Sprintf(`{"action":"send","to_user":%q,"text":"root"}`, bob)))
	res := wantAck(t, f.call(t, bob, b, fmt.Sprintf(`{"action":"send","conversation_id":%q,"text":"re","reply_to":1,"thread_root":1}`, conv)))
	m, _ := res["message"].(map[string]any)
	q, _ := m["reply_preview"].(map[string]any)
	if m["reply_to"] != float64(1) || m["thread_root"] != float64(1) || q["preview"] != "root" {
		t.Fatalf("ack: %v", res)
	}
	pushed := f.events(a, "message.created")
	if len(pushed) != 1 {
		t.Fatalf("alice got %d pushes, want 1", len(pushed))
	}
	pm, _ := pushed[0]["message"].(map[string]any)
	if pq, _ := pm["reply_preview"].(map[string]any); pq["preview"] != "root" || pm["thread_root"] != float64(1) {
		t.Fatalf("push: %v", pushed[0])
	}
	for _, tc := range []struct{ body, code string }{
		{fmt.Sprintf(`{"action":"send","conversation_id":%q,"text":"x","reply_to":7}`, conv), "seq_out_of_range"},
		{fmt.Sprintf(`{"action":"send","conversation_id":%q,"text":"x","thread_root":2}`, conv), "validation_failed"},
		{fmt.Sprintf(`{"action":"send","conversation_id":%q,"text":"x","reply_to":"1"}`, conv), "validation_failed"},
	} {
		wantError(t, f.call(t, bob, b, tc.body), tc.code)
	}
	if got := f.events(a, "message.created"); len(got) != 1 {
		t.Fatalf("a refused send was pushed: %v", got)
	}
}

// TestReactFrame: react adds and removes; the peer gets message.reaction
// with the emoji, the op and the counts; bad frames get their codes.
func TestReactFrame(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "rx", 2)
	alice, bob := u[0], u[1]
	a, b := f.connect(t, alice), f.connect(t, bob)
	conv := string(chat.DMID(alice, bob))
	wantAck(t, f.call(t, alice, a, fmt.Sprintf(`{"action":"send","to_user":%q,"text":"hi"}`, bob)))
	res := wantAck(t, f.call(t, bob, b, fmt.Sprintf(`{"action":"react","conversation_id":%q,"seq":1,"emoji":"🎉"}`, conv)))
	if mine, _ := res["my_reactions"].([]any); len(mine) != 1 || mine[0] != "🎉" {
		t.Fatalf("ack: %v", res)
	}
	wantAck(t, f.call(t, bob, b, fmt.Sprintf(`{"action":"react","conversation_id":%q,"seq":1,"emoji":"🎉","remove":true}`, conv)))
	evs := f.events(a, "message.reaction")
	if len(evs) != 2 {
		t.Fatalf("alice got %d reaction events, want 2", len(evs))
	}
	for i, want := range []string{"added", "removed"} {
		rx, _ := evs[i]["reaction"].(map[string]any)
		if rx["emoji"] != "🎉" || rx["op"] != want || evs[i]["actor"] != bob || evs[i]["seq"] != float64(1) {
			t.Errorf("event %d: %v", i, evs[i])
		}
	}
	if m, _ := evs[0]["message"].(map[string]any); m["reactions"] == nil || m["my_reactions"] != nil {
		t.Errorf("event message: %v", m)
	}
	for _, tc := range []struct{ body, code string }{
		{fmt.Sprintf(`{"action":"react","conversation_id":%q,"emoji":"x"}`, conv), "validation_failed"},
		{fmt.Sprintf(`{"action":"react","conversation_id":%q,"seq":1,"emoji":"a b"}`, conv), "validation_failed"},
		{fmt.Sprintf(`{"action":"react","conversation_id":%q,"seq":5,"emoji":"x"}`, conv), "seq_out_of_range"},
		{fmt.Sprintf(`{"action":"react","conversation_id":%q,"seq":1,"emoji":"x","user_id":"z"}`, conv), "unknown_field"},
	} {
		wantError(t, f.call(t, bob, b, tc.body), tc.code)
	}
	if got := f.events(a, "message.reaction"); len(got) != 2 {
		t.Fatalf("a refused reaction was pushed: %v", got)
	}
}

// TestPinFrame: pin and unpin over the socket; the peer gets
// message.pinned and message.unpinned.
func TestPinFrame(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "pinf", 2)
	alice, bob := u[0], u[1]
	a, b := f.connect(t, alice), f.connect(t, bob)
	conv := string(chat.DMID(alice, bob))
	wantAck(t, f.call(t, alice, a, fmt.Sprintf(`{"action":"send","to_user":%q,"text":"hi"}`, bob)))
	res := wantAck(t, f.call(t, bob, b, fmt.Sprintf(`{"action":"pin","conversation_id":%q,"seq":1}`, conv)))
	if ps, _ := res["pinned"].([]any); len(ps) != 1 {
		t.Fatalf("ack: %v", res)
	}
	wantAck(t, f.call(t, bob, b, fmt.Sprintf(`{"action":"pin","conversation_id":%q,"seq":1,"unpin":true}`, conv)))
	if p, un := f.events(a, "message.pinned"), f.events(a, "message.unpinned"); len(p) != 1 || len(un) != 1 || p[0]["seq"] != float64(1) || p[0]["actor"] != bob {
		t.Fatalf("events: %v %v", p, un)
	}
	wantError(t, f.call(t, bob, b, fmt.Sprintf(`{"action":"pin","conversation_id":%q}`, conv)), "validation_failed")
}
