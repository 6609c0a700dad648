package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/realtime/realtimetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	ctx     = context.Background()
	discard = slog.New(slog.NewJSONHandler(io.Discard, nil))
)

// world is the tables, a fake management API, and uncounted services for
// setting scenes up.
type world struct {
	env   *testenv.Env
	db    testenv.Stores
	gw    *realtimetest.Gateway
	chat  *chat.Service
	users *users.Service
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	return &world{env: env, db: db, gw: realtimetest.New(t), chat: chat.NewService(db.Chat, env.Cursors, chat.Config{MaxGroupMembers: 10000}, chat.Options{}),
		users: users.NewService(db.Users, env.Cursors, nil)}
}

// newUsers creates n users.
func (w *world) newUsers(t testing.TB, prefix string, n int) []string {
	t.Helper()
	return testenv.NewUsers(t, w.users, prefix, n)
}

// online opens a connection for user (stored and open at the gateway),
// connected a minute ago: older than FreshConnection, so a 410 means gone.
func (w *world) online(t testing.TB, user string) string {
	t.Helper()
	conn := testenv.ID("c") + "="
	if err := w.db.Connections.PutConnection(ctx, realtime.NewConnection(user, conn, time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	w.gw.Open(conn)
	return conn
}

func (w *world) group(t testing.TB, owner string, members []string) chat.Group {
	t.Helper()
	g, _, err := w.chat.CreateGroup(ctx, *testenv.User(owner), chat.CreateGroupInput{Name: "g", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// messageEvent stores a message from sender and returns its event.
func (w *world) messageEvent(t testing.TB, sender string, in chat.SendInput) chat.Event {
	t.Helper()
	m, _, err := w.chat.Send(ctx, *testenv.User(sender), in)
	if err != nil {
		t.Fatal(err)
	}
	return chat.Event{Type: chat.EventMessageCreated, ConversationID: m.ConversationID, GroupID: in.ToGroup, Seq: m.Seq, Actor: sender, Message: &m, At: m.CreatedAt}
}

// counted returns a notifier whose every AWS request is counted: on the
// memory backend only the posts to the (fake) gateway are AWS requests.
func (w *world) counted(q func(aws.Config) realtime.Queue, cfg realtime.Config) (*realtime.Notifier, *awsclient.Counter) {
	acfg, c := w.env.Counted()
	var queue realtime.Queue
	if q != nil {
		queue = q(acfg)
	}
	conns := w.db.Connections
	if testenv.AWS() {
		conns = w.env.DB(acfg).Connections
	}
	return realtime.NewNotifier(conns, w.gw.Pusher(acfg), queue, cfg, discard), c
}

// fanoutQueue is the template's FanoutQueue: the emulator's over cfg, or
// the memory backend's.
func (w *world) fanoutQueue(cfg aws.Config) realtime.Queue {
	if !testenv.AWS() {
		return realtime.NewJobQueue(w.env.Queue("FanoutQueue"))
	}
	return realtime.NewJobQueue(sqsqueue.New(sqs.NewFromConfig(cfg), w.env.Res.QueueURLs["FanoutQueue"]))
}

// drain receives and processes every job on FanoutQueue with n, until the
// queue stays empty (bounded).
func (w *world) drain(t testing.TB, n *realtime.Notifier) int {
	t.Helper()
	receive, done := w.env.Receiver(t, "FanoutQueue", time.Minute)
	jobs := 0
	for i := 0; i < 200; i++ {
		bodies, handles := receive()
		if len(bodies) == 0 {
			return jobs
		}
		for k, body := range bodies {
			var j realtime.Job
			if err := json.Unmarshal([]byte(body), &j); err != nil {
				t.Fatal(err)
			}
			if err := n.Process(ctx, j); err != nil {
				t.Fatalf("process %s job: %v", j.Kind, err)
			}
			jobs++
			done(handles[k])
		}
	}
	t.Fatal("fan-out queue did not drain")
	return jobs
}

// want pins request counts; ops not listed must be zero. On the memory
// backend only the gateway's posts are counted (DynamoDB and SQS requests
// are pinned against the emulator, make test).
func want(t *testing.T, c *awsclient.Counter, counts map[string]int) {
	t.Helper()
	s := c.Snapshot()
	for op, n := range s.Requests {
		if counts[op] != n {
			t.Errorf("%s: %d requests, want %d (all: %v)", op, n, counts[op], s.Requests)
		}
	}
	for op, n := range counts {
		if !counted(op) {
			continue
		}
		if s.Requests[op] != n {
			t.Errorf("%s: %d requests, want %d (all: %v)", op, s.Requests[op], n, s.Requests)
		}
	}
}

// counted reports whether the backend sends op as an AWS request.
func counted(op string) bool {
	return testenv.AWS() || strings.HasPrefix(op, "ApiGatewayManagementApi.")
}

func received(t *testing.T, gw *realtimetest.Gateway, conn string, seq int64) {
	t.Helper()
	var n int
	for _, f := range gw.Frames(conn) {
		if f["type"] == "message.created" && f["seq"] == float64(seq) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s received seq %d %d times, want once", conn, seq, n)
	}
}

// TestPushCost pins what one push costs and who gets it. No Scan
// anywhere, no write per recipient: writes happen only for stale
// connections. (The memory backend checks the posts and the deliveries.)
func TestPushCost(t *testing.T) {
	w := newWorld(t)
	t.Run("DM to a recipient with one connection", func(t *testing.T) {
		u := w.newUsers(t, "dm", 2)
		bob := w.online(t, u[1])
		ev := w.messageEvent(t, u[0], chat.SendInput{ToUser: u[1], Text: "hi"})
		n, c := w.counted(nil, realtime.Config{})
		n.Notify(ctx, ev)
		// One Query for the recipient's connections, one for the sender's
		// other devices; one post per connection.
		want(t, c, map[string]int{"DynamoDB.Query": 2, "ApiGatewayManagementApi.PostToConnection": 1})
		received(t, w.gw, bob, ev.Seq)
	})
	t.Run("DM from a tab: the sender's other tabs, not the sending one", func(t *testing.T) {
		u := w.newUsers(t, "dm2", 2)
		a1, a2, b1, b2 := w.online(t, u[0]), w.online(t, u[0]), w.online(t, u[1]), w.online(t, u[1])
		ev := w.messageEvent(t, u[0], chat.SendInput{ToUser: u[1], Text: "hi"})
		n, c := w.counted(nil, realtime.Config{})
		n.Notify(realtime.WithOrigin(ctx, a1), ev)
		want(t, c, map[string]int{"DynamoDB.Query": 2, "ApiGatewayManagementApi.PostToConnection": 3})
		for _, conn := range []string{a2, b1, b2} {
			received(t, w.gw, conn, ev.Seq)
		}
		if got := w.gw.Frames(a1); len(got) != 0 {
			t.Errorf("the sending tab got %v", got)
		}
	})
	for _, tc := range []struct {
		members, online int
		counts          map[string]int
	}{
		// Members in one Query page, their connections in one BatchGetItem
		// per 100 members (presence items), one post per online connection.
		{10, 4, map[string]int{"DynamoDB.Query": 1, "DynamoDB.BatchGetItem": 1, "ApiGatewayManagementApi.PostToConnection": 3}},
		{100, 30, map[string]int{"DynamoDB.Query": 1, "DynamoDB.BatchGetItem": 1, "ApiGatewayManagementApi.PostToConnection": 29}},
	} {
		t.Run(fmt.Sprintf("group of %d, inline", tc.members), func(t *testing.T) {
			u := w.newUsers(t, "g", tc.members)
			g := w.group(t, u[0], u[1:])
			var conns []string
			for _, id := range u[:tc.online] {
				conns = append(conns, w.online(t, id))
			}
			ev := w.messageEvent(t, u[0], chat.SendInput{ToGroup: g.GroupID, Text: "hi"})
			n, c := w.counted(w.fanoutQueue, realtime.Config{})
			n.Notify(realtime.WithOrigin(ctx, conns[0]), ev)
			want(t, c, tc.counts)
			for _, conn := range conns[1:] {
				received(t, w.gw, conn, ev.Seq)
			}
		})
	}
	t.Run("group of 500, through the fan-out queue", func(t *testing.T) {
		u := w.newUsers(t, "big", 500)
		g := w.group(t, u[0], u[1:])
		var conns []string
		for i := 0; i < 500; i += 10 {
			conns = append(conns, w.online(t, u[i]))
		}
		ev := w.messageEvent(t, u[0], chat.SendInput{ToGroup: g.GroupID, Text: "hi all"})
		n, c := w.counted(w.fanoutQueue, realtime.Config{})
		n.Notify(realtime.WithOrigin(ctx, conns[0]), ev)
		// The sender: one Query (is the group above 100?) and one message.
		want(t, c, map[string]int{"DynamoDB.Query": 1, "SQS.SendMessageBatch": 1})
		c.Reset()
		if jobs := w.drain(t, n); jobs != 11 {
			t.Errorf("%d jobs, want 1 plan + 10 chunks", jobs)
		}
		// The worker: one Query for the page of 500 member ids, the 10
		// chunks queued in one batch, one BatchGetItem per 50 members
		// (membership re-checked with the presence), one post per connection.
		want(t, c, map[string]int{"DynamoDB.Query": 1, "SQS.SendMessageBatch": 1, "DynamoDB.BatchGetItem": 10,
			"ApiGatewayManagementApi.PostToConnection": 49})
		for _, conn := range conns[1:] {
			received(t, w.gw, conn, ev.Seq)
		}
	})
}

func TestStaleConnections(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "st", 4)
	g := w.group(t, u[0], u[1:])
	a := w.online(t, u[0])
	live := []string{w.online(t, u[1]), w.online(t, u[2]), w.online(t, u[3])}
	stale := w.online(t, u[2])
	w.gw.Drop(stale) // closed without $disconnect
	ev := w.messageEvent(t, u[0], chat.SendInput{ToGroup: g.GroupID, Text: "hi"})
	n, c := w.counted(nil, realtime.Config{})
	n.Notify(realtime.WithOrigin(ctx, a), ev)
	// The 410 costs the stale connection's two deletes, nothing else.
	want(t, c, map[string]int{"DynamoDB.Query": 1, "DynamoDB.BatchGetItem": 1, "ApiGatewayManagementApi.PostToConnection": 4,
		"DynamoDB.DeleteItem": 1, "DynamoDB.UpdateItem": 1})
	for _, conn := range live {
		received(t, w.gw, conn, ev.Seq)
	}
	conns, err := w.db.Connections.UserConnections(ctx, u[2], time.Now())
	if err != nil || len(conns) != 1 || conns[0].ConnectionID != live[1] {
		t.Fatalf("%s's connections after the 410: %+v %v", u[2], conns, err)
	}
	p, _ := w.db.Connections.Presence(ctx, []string{u[0], u[2]}, time.Now())
	if len(p[u[2]].Conns) != 1 || len(p[u[0]].Conns) != 1 {
		t.Fatalf("presence after the 410: %+v", p)
	}
}

func TestPushRetries(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "rt", 2)
	tests := []struct {
		name      string
		fail      []int
		posts     int
		delivered bool
	}{
		{"throttled twice, then delivered", []int{429, 429}, 3, true},
		{"a 5xx, then delivered", []int{502}, 2, true},
		{"5xx on every attempt", []int{500, 500, 500, 500}, 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := w.online(t, u[1])
			w.gw.FailNext(conn, tc.fail...)
			w.gw.Reset()
			n := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), nil, realtime.Config{}, discard)
			err := n.Deliver(ctx, realtime.Audience{Users: []string{u[1]}}, []byte(`{"type":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := w.gw.Posts(); got != tc.posts {
				t.Errorf("%d attempts, want %d", got, tc.posts)
			}
			if got := len(w.gw.Frames(conn)) == 1; got != tc.delivered {
				t.Errorf("delivered = %v, want %v", got, tc.delivered)
			}
			w.db.Connections.DeleteConnection(ctx, u[1], conn, time.Now())
		})
	}
}

// memQueue keeps jobs in memory.
type memQueue struct {
	mu   sync.Mutex
	jobs []realtime.Job
}

func (q *memQueue) Enqueue(_ context.Context, jobs []realtime.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

func TestFanoutJobs(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "fj", 8)
	g := w.group(t, u[0], u[1:])
	conns := map[string]string{}
	for _, id := range u {
		conns[id] = w.online(t, id)
	}
	q := &memQueue{}
	n := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), q, realtime.Config{InlineMax: 3}, discard)
	frame := []byte(`{"type":"message.created","conversation_id":"g:x","seq":1}`)

	t.Run("a group above the inline size is queued, not pushed", func(t *testing.T) {
		if err := n.Deliver(ctx, realtime.Audience{Group: g.GroupID, Users: []string{"gone-member"}, Exclude: conns[u[0]]}, frame); err != nil {
			t.Fatal(err)
		}
		if w.gw.Posts() != 0 || len(q.jobs) != 2 || q.jobs[0].Kind != realtime.JobPlan || q.jobs[1].Kind != realtime.JobChunk || !q.jobs[1].Direct {
			t.Fatalf("posts %d, jobs %+v", w.gw.Posts(), q.jobs)
		}
	})
	t.Run("so are many former members of a dissolved group", func(t *testing.T) {
		var former []string
		for i := 0; i < 150; i++ {
			former = append(former, fmt.Sprint("former-", i))
		}
		q2 := &memQueue{}
		n2 := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), q2, realtime.Config{InlineMax: 100}, discard)
		if err := n2.Deliver(ctx, realtime.Audience{Group: "no-members-left", Users: former}, frame); err != nil {
			t.Fatal(err)
		}
		if w.gw.Posts() != 0 || len(q2.jobs) != 3 || len(q2.jobs[1].Users) != 100 || len(q2.jobs[2].Users) != 50 || !q2.jobs[2].Direct {
			t.Fatalf("jobs %+v", q2.jobs)
		}
	})
	t.Run("typing is dropped for such a group", func(t *testing.T) {
		err := n.Deliver(ctx, realtime.Audience{Group: g.GroupID, Ephemeral: true}, frame)
		if err != realtime.ErrAudienceTooLarge || len(q.jobs) != 2 {
			t.Fatalf("err %v, jobs %d", err, len(q.jobs))
		}
	})
	t.Run("plan, then chunks; a member removed meanwhile gets nothing", func(t *testing.T) {
		plan := q.jobs[0]
		q.jobs = nil
		if err := n.Process(ctx, plan); err != nil {
			t.Fatal(err)
		}
		if len(q.jobs) != 1 || q.jobs[0].Kind != realtime.JobChunk || len(q.jobs[0].Users) != 8 {
			t.Fatalf("plan made %+v", q.jobs)
		}
		if err := w.chat.RemoveMember(ctx, *testenv.User(u[0]), g.GroupID, u[5]); err != nil {
			t.Fatal(err)
		}
		chunk := q.jobs[0]
		q.jobs = nil
		if err := n.Process(ctx, chunk); err != nil {
			t.Fatal(err)
		}
		for _, id := range u[1:] {
			if got, want := len(w.gw.Frames(conns[id])), map[bool]int{true: 0, false: 1}[id == u[5]]; got != want {
				t.Errorf("%s got %d frames, want %d", id, got, want)
			}
		}
		if got := w.gw.Frames(conns[u[0]]); len(got) != 0 {
			t.Errorf("the excluded connection got %v", got)
		}
	})
	t.Run("pages of members continue in a new plan job", func(t *testing.T) {
		ids, next, err := w.db.Connections.GroupMemberIDs(ctx, g.GroupID, 3, "")
		if err != nil || len(ids) != 3 || next != ids[2] {
			t.Fatalf("page 1: %v %q %v", ids, next, err)
		}
		var all []string
		all = append(all, ids...)
		for next != "" {
			if ids, next, err = w.db.Connections.GroupMemberIDs(ctx, g.GroupID, 3, next); err != nil {
				t.Fatal(err)
			}
			all = append(all, ids...)
		}
		want := append([]string{}, u[:5]...)
		want = append(want, u[6:]...)
		sort.Strings(want)
		if fmt.Sprint(all) != fmt.Sprint(want) {
			t.Fatalf("paged members %v, want %v", all, want)
		}
	})
	t.Run("a push failing after its retries is queued again for that connection only", func(t *testing.T) {
		w.gw.Reset()
		w.gw.FailNext(conns[u[2]], 503, 503, 503, 503)
		if err := n.Process(ctx, realtime.Job{Kind: realtime.JobChunk, Group: g.GroupID, Users: []string{u[1], u[2]}, Frame: frame}); err != nil {
			t.Fatal(err)
		}
		if len(q.jobs) != 1 || q.jobs[0].Kind != realtime.JobRetry || len(q.jobs[0].Targets) != 1 || q.jobs[0].Targets[0].Conn != conns[u[2]] || q.jobs[0].Attempt != 1 {
			t.Fatalf("jobs %+v", q.jobs)
		}
		retry := q.jobs[0]
		q.jobs = nil
		if err := n.Process(ctx, retry); err != nil {
			t.Fatal(err)
		}
		if len(w.gw.Frames(conns[u[1]])) != 1 || len(w.gw.Frames(conns[u[2]])) != 1 || len(q.jobs) != 0 {
			t.Fatalf("after the retry: %v %v %+v", w.gw.Frames(conns[u[1]]), w.gw.Frames(conns[u[2]]), q.jobs)
		}
	})
	t.Run("malformed jobs fail", func(t *testing.T) {
		for _, j := range []realtime.Job{{Kind: "nope", Group: "g", Frame: frame}, {Kind: realtime.JobChunk, Frame: frame}, {Kind: realtime.JobPlan, Group: "g"}} {
			if err := n.Process(ctx, j); err == nil {
				t.Errorf("%+v: no error", j)
			}
		}
	})
}

func TestInlineWithoutQueue(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "nq", 7)
	g := w.group(t, u[0], u[1:])
	var conns []string
	for _, id := range u {
		conns = append(conns, w.online(t, id))
	}
	n := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), nil, realtime.Config{InlineMax: 2}, discard)
	ev := w.messageEvent(t, u[0], chat.SendInput{ToGroup: g.GroupID, Text: "x"})
	n.Notify(ctx, ev)
	for _, c := range conns {
		received(t, w.gw, c, ev.Seq)
	}
}

// TestFreshConnection410: a push answered 410 by a connection whose
// $connect finished under FreshConnection ago keeps its record (API
// Gateway answers 410 until $connect returns) and counts as not
// delivered, so the message is pushed again; an older one is removed.
func TestFreshConnection410(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "fresh", 2)
	conn := testenv.ID("c") + "="
	if err := w.db.Connections.PutConnection(ctx, realtime.NewConnection(u[1], conn, time.Now())); err != nil {
		t.Fatal(err)
	}
	w.gw.Drop(conn) // the gateway answers 410, as for a $connect in flight
	rt := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), nil, realtime.Config{}, discard)
	m, _, err := w.chat.Send(ctx, *testenv.User(u[0]), chat.SendInput{ToUser: u[1], Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	err = rt.NotifyDelivered(ctx, chat.Event{Type: chat.EventMessageCreated, ConversationID: m.ConversationID, Seq: m.Seq, Actor: u[0], Message: &m})
	if !errors.Is(err, realtime.ErrIncomplete) {
		t.Fatalf("delivery to a connection not connected yet: %v, want ErrIncomplete", err)
	}
	if got, err := w.db.Connections.UserConnections(ctx, u[1], time.Now()); err != nil || len(got) != 1 {
		t.Fatalf("the fresh connection's record: %+v %v, want it kept", got, err)
	}
}
