package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env    *testenv.Env
	db     testenv.Stores
	svc    *chat.Service
	users  *users.Service
	events *recorder
}

// recorder is a Notifier that remembers events.
type recorder struct {
	mu     sync.Mutex
	events []chat.Event
}

func (r *recorder) Notify(_ context.Context, e chat.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) types() []chat.EventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []chat.EventType
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

func newFixture(t *testing.T, cfg chat.Config) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	rec := &recorder{}
	return &fixture{env: env, db: db, events: rec, svc: chat.NewService(db.Chat, env.Cursors, cfg, chat.Options{Notifier: rec}),
		users: users.NewService(db.Users, env.Cursors, nil)}
}

var ctx = context.Background()

func admin() auth.Principal         { return *testenv.Admin() }
func user(id string) auth.Principal { return *testenv.User(id) }

// newUsers creates n users and returns their ids.
func (f *fixture) newUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	return testenv.NewUsers(t, f.users, prefix, n)
}

// group creates a group owned by owner with members.
func (f *fixture) group(t *testing.T, owner string, members ...string) chat.Group {
	t.Helper()
	g, created, err := f.svc.CreateGroup(ctx, user(owner), chat.CreateGroupInput{Name: "g", Members: members})
	if err != nil || !created {
		t.Fatalf("create group: %v %v", created, err)
	}
	return g
}

func (f *fixture) send(t *testing.T, p auth.Principal, in chat.SendInput) chat.Message {
	t.Helper()
	m, _, err := f.svc.Send(ctx, p, in)
	if err != nil {
		t.Fatalf("send %+v: %v", in, err)
	}
	return m
}

func wantCode(t *testing.T, err error, code apierror.Code) {
	t.Helper()
	if apierror.CodeOf(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func history(t *testing.T, f *fixture, p auth.Principal, conv chat.ConversationID) []chat.Message {
	t.Helper()
	var all []chat.Message
	q := chat.HistoryQuery{Limit: 100, After: new(int64(0))} // forward from the first message
	for i := 0; i < 100; i++ {
		page, err := f.svc.History(ctx, p, string(conv), q)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		all = append(all, page.Messages...)
		if page.NextCursor == "" {
			return all
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("history did not end")
	return nil
}

func checkGapless(t *testing.T, msgs []chat.Message, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	ids := map[string]bool{}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: seqs %v", i, m.Seq, seqs(msgs))
		}
		if ids[m.MessageID] {
			t.Fatalf("duplicate message id %s", m.MessageID)
		}
		ids[m.MessageID] = true
	}
}

// checkCounts checks every message's count: the number of messages of
// kind message up to its seq (what makes unread counts exact).
func checkCounts(t *testing.T, msgs []chat.Message) {
	t.Helper()
	var n int64
	for _, m := range msgs {
		if m.Kind == chat.KindMessage {
			n++
		}
		if m.Count != n {
			t.Fatalf("seq %d (%s) has count %d, want %d", m.Seq, m.Kind, m.Count, n)
		}
	}
}

func seqs(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func TestConversationIDs(t *testing.T) {
	if chat.DMID("bob", "alice") != chat.DMID("alice", "bob") || chat.DMID("alice", "bob") != "dm:alice:bob" {
		t.Fatal("DM id depends on who asks")
	}
	tests := []struct {
		in   string
		want chat.ConversationID
		ok   bool
	}{
		{"dm:bob:alice", "dm:alice:bob", true},
		{"dm:alice:bob", "dm:alice:bob", true},
		{"g:team-1", "g:team-1", true},
		{"dm:alice:alice", "", false},
		{"dm:alice", "", false},
		{"dm:a:b:c", "", false},
		{"g:", "", false},
		{"g:a#b", "", false},
		{"x:alice", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		ref, err := chat.ParseConversationID(tc.in)
		if (err == nil) != tc.ok || ref.ID != tc.want {
			t.Errorf("%q: got %q %v", tc.in, ref.ID, err)
		}
	}
}

func TestConcurrentSendsAreGapless(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "gap", 3)
	g := f.group(t, u[0], u[1], u[2])
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.svc.Send(ctx, user(u[i%3]), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("m", i), ClientMsgID: fmt.Sprint("c", i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	all := history(t, f, user(u[1]), g.ConversationID)
	checkGapless(t, all, n)
	checkCounts(t, all)
	c, err := f.svc.GetConversation(ctx, user(u[1]), string(g.ConversationID), "")
	if err != nil || c.LastSeq != n {
		t.Fatalf("conversation head: %+v %v", c, err)
	}
}

func TestConcurrentDMSendsAreGapless(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "gapdm", 2)
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []error
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := u[i%2], u[(i+1)%2]
			if _, _, err := f.svc.Send(ctx, user(from), chat.SendInput{ToUser: to, Text: "hi"}); err != nil {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("sends failed: %v", failed)
	}
	all := history(t, f, user(u[0]), chat.DMID(u[0], u[1]))
	checkGapless(t, all, n)
	checkCounts(t, all)
}

func TestClientMsgIDIsIdempotent(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "idem", 2)
	in := chat.SendInput{ToUser: u[1], Text: "once", ClientMsgID: "cmid-1"}
	var wg sync.WaitGroup
	replies := make([]chat.Message, 10)
	created := make([]bool, 10)
	errs := make([]error, 10)
	for i := 0; i < 6; i++ { // six at once...
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], created[i], errs[i] = f.svc.Send(ctx, user(u[0]), in)
		}()
	}
	wg.Wait()
	for i := 6; i < 10; i++ { // ...then four one by one, with other traffic between
		f.send(t, user(u[1]), chat.SendInput{ToUser: u[0], Text: "interleaved"})
		replies[i], created[i], errs[i] = f.svc.Send(ctx, user(u[0]), in)
	}
	fresh := 0
	for i := range replies {
		if errs[i] != nil {
			t.Fatalf("send %d: %v", i, errs[i])
		}
		if replies[i].MessageID != replies[0].MessageID || replies[i].Seq != replies[0].Seq || !replies[i].CreatedAt.Equal(replies[0].CreatedAt) {
			t.Fatalf("retry %d returned another message: %+v vs %+v", i, replies[i], replies[0])
		}
		if created[i] {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d sends report creating the message, want 1", fresh)
	}
	n := 0
	for _, m := range history(t, f, user(u[0]), chat.DMID(u[0], u[1])) {
		if m.ClientMsgID == "cmid-1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d stored messages with the client_msg_id, want 1", n)
	}
	// The same client_msg_id elsewhere is another message; with another body it is refused.
	other := f.newUsers(t, "idem2", 1)[0]
	m2 := f.send(t, user(u[0]), chat.SendInput{ToUser: other, Text: "once", ClientMsgID: "cmid-1"})
	if m2.MessageID == replies[0].MessageID {
		t.Fatal("same client_msg_id in another conversation returned the first message")
	}
	_, _, err := f.svc.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "changed", ClientMsgID: "cmid-1"})
	wantCode(t, err, apierror.IdempotencyKeyReused)
	// The other participant using the same client_msg_id is not a retry of it.
	m3 := f.send(t, user(u[1]), chat.SendInput{ToUser: u[0], Text: "once", ClientMsgID: "cmid-1"})
	if m3.MessageID == replies[0].MessageID {
		t.Fatal("another sender's client_msg_id collided")
	}
}

func TestRemovedMemberSeesNothingAfter(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rm", 3)
	owner, stays, leaves := u[0], u[1], u[2]
	g := f.group(t, owner, stays, leaves)
	f.send(t, user(owner), chat.SendInput{ToGroup: g.GroupID, Text: "before"})
	if err := f.svc.RemoveMember(ctx, user(owner), g.GroupID, leaves); err != nil {
		t.Fatal(err)
	}
	f.send(t, user(owner), chat.SendInput{ToGroup: g.GroupID, Text: "after"})

	_, err := f.svc.History(ctx, user(leaves), string(g.ConversationID), chat.HistoryQuery{})
	wantCode(t, err, apierror.NotFound)
	_, _, err = f.svc.Send(ctx, user(leaves), chat.SendInput{ToGroup: g.GroupID, Text: "still here?"})
	wantCode(t, err, apierror.NotFound)
	_, err = f.svc.GetConversation(ctx, user(leaves), string(g.ConversationID), "")
	wantCode(t, err, apierror.NotFound)
	_, err = f.svc.MarkRead(ctx, user(leaves), string(g.ConversationID), 2, "")
	wantCode(t, err, apierror.NotFound)
	_, err = f.svc.GetGroup(ctx, user(leaves), g.GroupID)
	wantCode(t, err, apierror.NotFound)
	sync, err := f.svc.Sync(ctx, user(leaves), chat.SyncInput{Since: map[string]int64{string(g.ConversationID): 1}})
	if err != nil || len(sync.Messages) != 0 || len(sync.Removed) != 1 || sync.Removed[0] != g.ConversationID {
		t.Fatalf("sync of a removed member: %+v %v", sync, err)
	}
	list, err := f.svc.ListConversations(ctx, user(leaves), "", 0, "")
	if err != nil || len(list.Conversations) != 0 {
		t.Fatalf("removed member still lists the group: %+v %v", list, err)
	}
	if got := history(t, f, user(stays), g.ConversationID); len(got) != 2 {
		t.Fatalf("remaining member sees %d messages", len(got))
	}
	gr, _ := f.svc.GetGroup(ctx, user(stays), g.GroupID)
	if gr.MemberCount != 2 {
		t.Fatalf("member_count %d after removal, want 2", gr.MemberCount)
	}
}

// TestSyncAfterManyMissed: 1,000 messages across 20 conversations come
// back exactly once, in order per conversation, over pages.
func TestSyncAfterManyMissed(t *testing.T) {
	f := newFixture(t, chat.Config{})
	me := f.newUsers(t, "sync", 1)[0]
	peers := f.newUsers(t, "peer", 20)
	const per = 50
	// Set-up writes in bulk (the send path is tested above); one live send
	// per conversation on top checks they continue correctly.
	for _, peer := range peers {
		ref, _ := chat.ParseConversationID(string(chat.DMID(me, peer)))
		msgs := make([]chat.Message, per-1)
		for i := range msgs {
			msgs[i] = chat.Message{ConversationID: ref.ID, Seq: int64(i + 1), MessageID: fmt.Sprintf("m-%s-%d", peer, i),
				SenderType: chat.SenderUser, SenderID: peer, Text: fmt.Sprint(i), CreatedAt: time.Now()}
		}
		importMessages(t, f.db.Chat, ref, msgs)
		if m := f.send(t, user(peer), chat.SendInput{ToUser: me, Text: "live"}); m.Seq != per {
			t.Fatalf("live send after import got seq %d", m.Seq)
		}
	}
	// The client knew the first 5 of the first conversation only.
	since := map[string]int64{string(chat.DMID(me, peers[0])): 5}
	got := map[chat.ConversationID][]int64{}
	total, pages := 0, 0
	cursor := ""
	for ; pages < 100; pages++ {
		page, err := f.svc.Sync(ctx, user(me), chat.SyncInput{Since: since, Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			got[m.ConversationID] = append(got[m.ConversationID], m.Seq)
			total++
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if want := len(peers)*per - 5; total != want {
		t.Fatalf("sync returned %d messages, want %d", total, want)
	}
	for _, peer := range peers {
		id := chat.DMID(me, peer)
		first := int64(1)
		if peer == peers[0] {
			first = 6
		}
		list := got[id]
		for i, s := range list {
			if s != first+int64(i) {
				t.Fatalf("%s: seqs %v not contiguous from %d", id, list, first)
			}
		}
		if int64(len(list)) != per-first+1 {
			t.Fatalf("%s: %d messages", id, len(list))
		}
	}
	if pages < 9 {
		t.Fatalf("%d pages for 995 messages at 100 per page", pages)
	}
}

// importMessages writes msgs (seqs following the conversation's head) as
// set-up, not through a send: in bulk where the store can (the DynamoDB
// adapter's ImportMessages), else one by one through the store port.
func importMessages(t *testing.T, st chat.Store, ref chat.ConvRef, msgs []chat.Message) {
	t.Helper()
	if bulk, ok := st.(interface {
		ImportMessages(context.Context, chat.ConvRef, []chat.Message) error
	}); ok {
		if err := bulk.ImportMessages(ctx, ref, msgs); err != nil {
			t.Fatal(err)
		}
		return
	}
	if ref.Kind == chat.KindDM {
		if err := st.EnsureDMEntries(ctx, ref, msgs[0].CreatedAt); err != nil {
			t.Fatal(err)
		}
	}
	_, count, err := st.LatestSeq(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == "" {
			m.Kind = chat.KindMessage
		}
		count = chat.CountAfter(m.Seq-1, count, m.Kind)
		m.Count = count
		if old, err := st.PutMessage(ctx, m); err != nil || old != nil {
			t.Fatal(old, err)
		}
		if err := st.AdvanceConversation(ctx, ref, m, ""); err != nil {
			t.Fatal(err)
		}
	}
}
