package main

import (
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestRepliesAndThreads: a reply over REST carries its quote, a thread
// reply bumps its root's summary, GET .../messages/{seq}/thread lists the
// thread by pages, and bad input gets its documented code with nothing
// stored.
func TestRepliesAndThreads(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	a, b := testenv.User(u[0]), testenv.User(u[1])
	r := f.call(t, a, send(`{"to_user":"`+u[1]+`","text":"root"}`))
	dm := r.JSON["conversation_id"].(string)
	r = f.call(t, b, send(`{"conversation_id":"`+dm+`","text":"quoting","reply_to":1}`))
	if q, _ := r.JSON["reply_preview"].(map[string]any); r.Status != 201 || r.JSON["reply_to"] != float64(1) || q["preview"] != "root" || q["sender_id"] != u[0] {
		t.Fatalf("reply: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 3; i++ {
		if r := f.call(t, b, send(`{"conversation_id":"`+dm+`","text":"in thread","thread_root":1}`)); r.Status != 201 || r.JSON["thread_root"] != float64(1) {
			t.Fatalf("thread reply: %d %s", r.Status, r.Body)
		}
	}
	thread := func(query map[string]string) testenv.Reply {
		t.Helper()
		rq := msg("GET", "/thread", dm, "1", "")
		rq.query = query
		return f.call(t, a, rq)
	}
	r = thread(map[string]string{"limit": "2"})
	root, _ := r.JSON["root"].(map[string]any)
	th, _ := root["thread"].(map[string]any)
	if ms, _ := r.JSON["messages"].([]any); r.Status != 200 || len(ms) != 2 || th["reply_count"] != float64(3) || th["last_reply_seq"] != float64(5) || r.JSON["next_cursor"] == nil {
		t.Fatalf("thread page 1: %d %s", r.Status, r.Body)
	}
	r = thread(map[string]string{"limit": "2", "cursor": r.JSON["next_cursor"].(string)})
	if ms, _ := r.JSON["messages"].([]any); r.Status != 200 || len(ms) != 1 || ms[0].(map[string]any)["seq"] != float64(5) || r.JSON["next_cursor"] != nil {
		t.Fatalf("thread page 2: %d %s", r.Status, r.Body)
	}

	tests := []struct {
		name string
		r    req
		code string
	}{
		{"reply_to past the last seq", send(`{"conversation_id":"` + dm + `","text":"x","reply_to":99}`), "seq_out_of_range"},
		{"reply_to not a number", send(`{"conversation_id":"` + dm + `","text":"x","reply_to":"1"}`), "validation_failed"},
		{"thread_root a thread reply", send(`{"conversation_id":"` + dm + `","text":"x","thread_root":3}`), "validation_failed"},
		{"thread of a thread reply", msg("GET", "/thread", dm, "3", ""), "validation_failed"},
		{"thread past the last seq", msg("GET", "/thread", dm, "6", ""), "seq_out_of_range"},
		{"thread seq not a number", msg("GET", "/thread", dm, "x", ""), "validation_failed"},
	}
	for _, tc := range tests {
		if r := f.call(t, a, tc.r); r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, r.Status, r.Body, tc.code)
		}
	}
	if r := f.call(t, a, conv("GET", "", dm, nil, "")); r.JSON["last_seq"] != float64(5) {
		t.Fatalf("a refused send stored something: %s", r.Body)
	}
	if r := thread(nil); r.JSON["root"].(map[string]any)["thread"].(map[string]any)["reply_count"] != float64(3) {
		t.Fatalf("a refused send changed the thread: %s", r.Body)
	}
}

// TestReactionsREST: POST adds the caller's reaction, DELETE ?emoji=
// removes it; history shows counts and the caller's own; bad input gets
// its documented code and changes nothing.
func TestReactionsREST(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	a, b := testenv.User(u[0]), testenv.User(u[1])
	r := f.call(t, a, send(`{"to_user":"`+u[1]+`","text":"hi"}`))
	dm := r.JSON["conversation_id"].(string)
	if r := f.call(t, b, msg("POST", "/reactions", dm, "1", `{"emoji":"👍"}`)); r.Status != 200 || r.JSON["my_reactions"] == nil {
		t.Fatalf("react: %d %s", r.Status, r.Body)
	}
	r = f.call(t, a, conv("GET", "/messages", dm, nil, ""))
	m := r.JSON["messages"].([]any)[0].(map[string]any)
	rx, _ := m["reactions"].([]any)
	if len(rx) != 1 || rx[0].(map[string]any)["count"] != float64(1) || m["my_reactions"] != nil {
		t.Fatalf("history for a: %s", r.Body)
	}
	tests := []struct {
		name string
		r    req
		code string
	}{
		{"no emoji", msg("POST", "/reactions", dm, "1", `{}`), "validation_failed"},
		{"emoji not a string", msg("POST", "/reactions", dm, "1", `{"emoji":1}`), "validation_failed"},
		{"unknown field", msg("POST", "/reactions", dm, "1", `{"emoji":"x","count":2}`), "unknown_field"},
		{"past the last seq", msg("POST", "/reactions", dm, "2", `{"emoji":"x"}`), "seq_out_of_range"},
		{"delete without emoji", msg("DELETE", "/reactions", dm, "1", ""), "validation_failed"},
	}
	for _, tc := range tests {
		if r := f.call(t, a, tc.r); r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, r.Status, r.Body, tc.code)
		}
	}
	del := msg("DELETE", "/reactions", dm, "1", "")
	del.query = map[string]string{"emoji": "👍"}
	if r := f.call(t, b, del); r.Status != 200 || r.JSON["reactions"] != nil {
		t.Fatalf("unreact: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, a, conv("GET", "", dm, nil, "")); r.JSON["last_seq"] != float64(1) {
		t.Fatalf("reactions took a seq: %s", r.Body)
	}
}

// TestMentionsREST: a mention over REST shows on the mentioned member's
// conversation until read; a non-member mention and @all by a plain
// member get their codes with nothing stored.
func TestMentionsREST(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 3)
	owner, bob := testenv.User(u[0]), testenv.User(u[1])
	g, _, err := f.svc.CreateGroup(ctx, *owner, chat.CreateGroupInput{Members: []string{u[1]}})
	if err != nil {
		t.Fatal(err)
	}
	cid := string(g.ConversationID)
	if r := f.call(t, owner, send(`{"to_group":"`+g.GroupID+`","text":"@bob","mentions":["`+u[1]+`"]}`)); r.Status != 201 {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, bob, conv("GET", "", cid, nil, "")); r.JSON["unread_mentions"] != float64(1) || r.JSON["first_unread_mention_seq"] != float64(1) {
		t.Fatalf("bob's conversation: %s", r.Body)
	}
	for _, tc := range []struct{ body, code string }{
		{`{"to_group":"` + g.GroupID + `","text":"x","mentions":["` + u[2] + `"]}`, "validation_failed"},
		{`{"to_group":"` + g.GroupID + `","text":"x","mentions":["@all"]}`, "forbidden"},
		{`{"to_group":"` + g.GroupID + `","text":"x","mentions":"@all"}`, "validation_failed"},
	} {
		if r := f.call(t, bob, send(tc.body)); r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.body, r.Status, r.Body, tc.code)
		}
	}
	if r := f.call(t, bob, conv("POST", "/read", cid, nil, `{"seq":1}`)); r.JSON["unread_mentions"] != float64(0) || r.JSON["last_seq"] != float64(1) {
		t.Fatalf("read: %s", r.Body)
	}
	if r := f.call(t, bob, conv("GET", "", cid, nil, "")); r.JSON["unread_mentions"] != float64(0) || r.JSON["first_unread_mention_seq"] != nil {
		t.Fatalf("after reading: %s", r.Body)
	}
}

// TestPinsREST: PUT pins, DELETE unpins, the conversation lists the pins;
// a plain group member gets forbidden with nothing changed.
func TestPinsREST(t *testing.T) {
	f := newFixture(t)
	u := f.users(t, 2)
	owner, bob := testenv.User(u[0]), testenv.User(u[1])
	g, _, err := f.svc.CreateGroup(ctx, *owner, chat.CreateGroupInput{Members: []string{u[1]}})
	if err != nil {
		t.Fatal(err)
	}
	cid := string(g.ConversationID)
	f.call(t, bob, send(`{"to_group":"`+g.GroupID+`","text":"announce"}`))
	if r := f.call(t, owner, msg("PUT", "/pin", cid, "1", "")); r.Status != 200 || len(r.JSON["pinned"].([]any)) != 1 {
		t.Fatalf("pin: %d %s", r.Status, r.Body)
	}
	r := f.call(t, bob, conv("GET", "", cid, nil, ""))
	if ps, _ := r.JSON["pinned"].([]any); len(ps) != 1 || ps[0].(map[string]any)["seq"] != float64(1) || ps[0].(map[string]any)["pinned_by"] != u[0] {
		t.Fatalf("conversation: %s", r.Body)
	}
	if r := f.call(t, bob, msg("DELETE", "/pin", cid, "1", "")); r.ErrorCode() != "forbidden" {
		t.Fatalf("plain member unpin: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, owner, msg("PUT", "/pin", cid, "2", "")); r.ErrorCode() != "seq_out_of_range" {
		t.Fatalf("pin past the last seq: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, owner, msg("DELETE", "/pin", cid, "1", "")); r.Status != 200 || len(r.JSON["pinned"].([]any)) != 0 {
		t.Fatalf("unpin: %d %s", r.Status, r.Body)
	}
}
