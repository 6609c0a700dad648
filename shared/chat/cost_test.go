package chat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// counted returns a service whose every AWS request is counted.
func (f *fixture) counted(t *testing.T) (*chat.Service, *awsclient.Counter) {
	t.Helper()
	cfg, c := f.env.Counted()
	return chat.NewService(f.env.DB(cfg).Chat, f.env.Cursors, chat.Config{}, chat.Options{}), c
}

// readRequests counts DynamoDB requests that read (GetItem, BatchGetItem, Query).
func readRequests(s awsclient.Snapshot) int {
	return s.Count("DynamoDB.GetItem") + s.Count("DynamoDB.BatchGetItem") + s.Count("DynamoDB.Query") + s.Count("DynamoDB.Scan")
}

// TestSendCost pins the cost of a send: a DM under 1 KB to an existing
// conversation is at most 3 write units and 2 read requests, and a group
// message costs the same at any group size. No Scan, no transaction.
func TestSendCost(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "cost", 12)
	small := f.group(t, u[0], u[1:3]...)
	big := f.group(t, u[0], u[1:]...)
	f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: "first"}) // creates the DM
	svc, c := f.counted(t)
	text := strings.Repeat("x", 700) // with keys and ids, a message item under 1 KB

	tests := []struct {
		name string
		in   chat.SendInput
	}{
		{"dm", chat.SendInput{ToUser: u[1], Text: text, ClientMsgID: "k1"}},
		{"group of 3", chat.SendInput{ToGroup: small.GroupID, Text: text, ClientMsgID: "k2"}},
		{"group of 12", chat.SendInput{ToGroup: big.GroupID, Text: text, ClientMsgID: "k3"}},
	}
	var prev *awsclient.Snapshot
	for _, tc := range tests {
		c.Reset()
		if _, _, err := svc.Send(ctx, user(u[0]), tc.in); err != nil {
			t.Fatal(err)
		}
		s := c.Snapshot()
		t.Logf("%s: %s", tc.name, s)
		if r := readRequests(s); r > 2 {
			t.Errorf("%s: %d read requests, want <= 2", tc.name, r)
		}
		if w := s.Count("DynamoDB.PutItem") + s.Count("DynamoDB.UpdateItem"); w != 3 {
			t.Errorf("%s: %d writes, want 3", tc.name, w)
		}
		if s.WriteUnits > 3 {
			t.Errorf("%s: %.1f WCU, want <= 3", tc.name, s.WriteUnits)
		}
		if s.Count("DynamoDB.Scan")+s.Count("DynamoDB.TransactWriteItems")+s.Count("DynamoDB.TransactGetItems") > 0 {
			t.Errorf("%s: scan or transaction used: %s", tc.name, s)
		}
		if prev != nil && strings.HasPrefix(tc.name, "group") && fmt.Sprint(prev.Requests) != fmt.Sprint(s.Requests) {
			t.Errorf("group send cost depends on size: %v vs %v", prev.Requests, s.Requests)
		}
		if strings.HasPrefix(tc.name, "group") {
			cp := s
			prev = &cp
		}
	}
}

// TestReadCosts pins the request counts of history, sync, mark read and
// the conversation list (logged with their units).
func TestReadCosts(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rc", 3)
	g := f.group(t, u[0], u[1], u[2])
	for i := 0; i < 5; i++ {
		f.send(t, user(u[1]), chat.SendInput{ToUser: u[0], Text: "dm"})
		f.send(t, user(u[1]), chat.SendInput{ToGroup: g.GroupID, Text: "group"})
	}
	svc, c := f.counted(t)
	dm := string(chat.DMID(u[0], u[1]))
	tests := []costCase{
		{"history page", func() error { _, err := svc.History(ctx, user(u[0]), dm, chat.HistoryQuery{}); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.Query": 1}, 0},
		{"sync (2 conversations changed)", func() error { _, err := svc.Sync(ctx, user(u[0]), chat.SyncInput{}); return err },
			map[string]int{"DynamoDB.Query": 3, "DynamoDB.BatchGetItem": 1}, 0},
		{"mark read up to the last seq", func() error { _, err := svc.MarkRead(ctx, user(u[0]), dm, 5, ""); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
		{"mark read up to an earlier seq (+ its count)", func() error { _, err := svc.MarkRead(ctx, user(u[1]), dm, 3, ""); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
		{"list conversations", func() error { _, err := svc.ListConversations(ctx, user(u[0]), "", 0, ""); return err },
			map[string]int{"DynamoDB.Query": 1, "DynamoDB.BatchGetItem": 2}, 0},
	}
	pinCosts(t, c, tests)
}

// TestChangeCost pins the cost of a recall and an edit: the in-place
// change plus the event's append (as a send: claim, event, head). A
// repeated recall or a retried edit only reads.
func TestChangeCost(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "chc", 2)
	text := strings.Repeat("x", 600) // with keys and ids, items under 1 KB
	for i := 0; i < 4; i++ {
		f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: text})
	}
	dm := string(chat.DMID(u[0], u[1]))
	svc, c := f.counted(t)
	me := user(u[0])
	tests := []costCase{
		{"edit", func() error { _, err := svc.Edit(ctx, me, dm, 1, text+"!"); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.PutItem": 2, "DynamoDB.UpdateItem": 2}, 4},
		{"edit retried", func() error { _, err := svc.Edit(ctx, me, dm, 1, text+"!"); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1}, 0},
		{"recall", func() error { _, err := svc.Recall(ctx, me, dm, 2); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.PutItem": 2, "DynamoDB.UpdateItem": 2, "DynamoDB.Query": 1}, 4},
		{"recall repeated", func() error { _, err := svc.Recall(ctx, me, dm, 2); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1}, 0},
		{"recall of a message edited once (+ erase its edit event)", func() error { _, err := svc.Recall(ctx, me, dm, 1); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.PutItem": 2, "DynamoDB.UpdateItem": 3, "DynamoDB.Query": 1}, 5},
	}
	pinCosts(t, c, tests)
}

// costCase is one pinned operation: its exact requests and at most wcu
// write units (logged with its units).
type costCase struct {
	name string
	run  func() error
	want map[string]int
	wcu  float64
}

func pinCosts(t *testing.T, c *awsclient.Counter, cases []costCase) {
	t.Helper()
	for _, tc := range cases {
		c.Reset()
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		s := c.Snapshot()
		t.Logf("%s: %s", tc.name, s)
		if fmt.Sprint(s.Requests) != fmt.Sprint(tc.want) {
			t.Errorf("%s: requests %v, want %v", tc.name, s.Requests, tc.want)
		}
		if s.WriteUnits > tc.wcu {
			t.Errorf("%s: %.1f WCU, want <= %.0f", tc.name, s.WriteUnits, tc.wcu)
		}
	}
}

// TestReplyThreadCost pins replies and threads. A reply reads the quoted
// message (one more BatchGetItem than a send, no more writes); a thread
// reply also indexes itself under its root, counts the index and updates
// the root; a thread page and a history page quoting a message outside
// it each cost one BatchGetItem more than a plain read.
func TestReplyThreadCost(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rtc", 2)
	text := strings.Repeat("x", 600) // with keys and ids, items under 1 KB
	for i := 0; i < 3; i++ {
		f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: text})
	}
	dm := string(chat.DMID(u[0], u[1]))
	svc, c := f.counted(t)
	me := user(u[1])
	send := func(in chat.SendInput) func() error {
		return func() error { in.ToUser = u[0]; _, _, err := svc.Send(ctx, me, in); return err }
	}
	tests := []costCase{
		{"reply (reply_to)", send(chat.SendInput{Text: text, ReplyTo: 1, ClientMsgID: "r1"}),
			map[string]int{"DynamoDB.BatchGetItem": 2, "DynamoDB.PutItem": 2, "DynamoDB.UpdateItem": 1}, 3},
		{"thread reply (thread_root)", send(chat.SendInput{Text: text, ThreadRoot: 2, ClientMsgID: "r2"}),
			map[string]int{"DynamoDB.BatchGetItem": 2, "DynamoDB.PutItem": 3, "DynamoDB.Query": 1, "DynamoDB.UpdateItem": 2}, 5},
		{"thread reply retried", send(chat.SendInput{Text: text, ThreadRoot: 2, ClientMsgID: "r2"}),
			map[string]int{"DynamoDB.BatchGetItem": 2, "DynamoDB.PutItem": 1, "DynamoDB.GetItem": 1}, 1},
		{"thread page", func() error { _, err := svc.Thread(ctx, me, dm, 2, chat.ThreadQuery{}); return err },
			map[string]int{"DynamoDB.BatchGetItem": 2, "DynamoDB.Query": 1}, 0},
		{"history page quoting a message outside it", func() error {
			_, err := svc.History(ctx, me, dm, chat.HistoryQuery{After: new(int64(3)), Limit: 1})
			return err
		}, map[string]int{"DynamoDB.BatchGetItem": 2, "DynamoDB.Query": 1}, 0},
	}
	pinCosts(t, c, tests)
}

// TestReactionCost pins reactions: one conditional UpdateItem on the
// message (two when the last reactor of an emoji leaves), after the same
// reads as a recall; a repeat only reads. History reads reactions with
// the messages. A reaction takes no seq, so no
// claim, event message or head write.
func TestReactionCost(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rxcost", 2)
	f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: strings.Repeat("x", 600)})
	dm := string(chat.DMID(u[0], u[1]))
	svc, c := f.counted(t)
	react := func(who, emoji string, remove bool) func() error {
		return func() error { _, err := svc.React(ctx, user(who), dm, 1, emoji, remove); return err }
	}
	tests := []costCase{
		{"add a reaction", react(u[1], "👍", false),
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
		{"add it again (nothing changes)", react(u[1], "👍", false),
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1}, 0},
		{"add the same emoji as another user", react(u[0], "👍", false),
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
		{"remove, others still reacting", react(u[0], "👍", true),
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
		{"remove the emoji's last reaction", react(u[1], "👍", true),
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 2}, 2},
		{"history page with reactions (no extra request)", func() error { _, err := svc.History(ctx, user(u[0]), dm, chat.HistoryQuery{}); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.Query": 1}, 0},
	}
	pinCosts(t, c, tests)
}

// TestMentionCost pins mentions: checking named users reads their
// memberships (one BatchGetItem), and each mentioned entry takes one
// UpdateItem; @all takes one UpdateItem of the head, whatever the group's
// size; marking read prunes read mentions with one more UpdateItem.
func TestMentionCost(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "mncost", 4)
	g := f.group(t, u[0], u[1:]...)
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "first"})
	cid := string(chat.GroupConversationID(g.GroupID))
	svc, c := f.counted(t)
	text := strings.Repeat("x", 600)
	send := func(in chat.SendInput) func() error {
		return func() error { in.ToGroup = g.GroupID; _, _, err := svc.Send(ctx, user(u[0]), in); return err }
	}
	tests := []costCase{
		{"send mentioning 2 members", send(chat.SendInput{Text: text, Mentions: []string{u[1], u[2]}, ClientMsgID: "m1"}),
			map[string]int{"DynamoDB.BatchGetItem": 2, "DynamoDB.PutItem": 2, "DynamoDB.UpdateItem": 3}, 5},
		{"send mentioning @all", send(chat.SendInput{Text: text, Mentions: []string{chat.MentionAll}, ClientMsgID: "m2"}),
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.PutItem": 2, "DynamoDB.UpdateItem": 2}, 4},
		{"mark read past a mention (+ prune it)", func() error { _, err := svc.MarkRead(ctx, user(u[1]), cid, 3, ""); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.UpdateItem": 2}, 2},
		{"conversation with unread mentions (no extra request)", func() error { _, err := svc.GetConversation(ctx, user(u[2]), cid, ""); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1}, 0},
	}
	pinCosts(t, c, tests)
}

// TestPinCost pins pinning: one conditional UpdateItem of the head after
// the reads of a recall; a repeat only reads; pins are read with the
// head, so a conversation with pins costs what one without does.
func TestPinCost(t *testing.T) {
	testenv.NeedAWS(t) // pins DynamoDB request counts
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "pincost", 2)
	f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: strings.Repeat("x", 600)})
	dm := string(chat.DMID(u[0], u[1]))
	svc, c := f.counted(t)
	pin := func(unpin bool) func() error {
		return func() error { _, err := svc.Pin(ctx, user(u[1]), dm, 1, unpin); return err }
	}
	tests := []costCase{
		{"pin", pin(false), map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
		{"pin again (nothing changes)", pin(false), map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1}, 0},
		{"conversation with pins (no extra request)", func() error { _, err := svc.GetConversation(ctx, user(u[0]), dm, ""); return err },
			map[string]int{"DynamoDB.BatchGetItem": 1}, 0},
		{"unpin", pin(true), map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}, 1},
	}
	pinCosts(t, c, tests)
}
