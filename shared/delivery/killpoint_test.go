package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/delivery"
	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/realtime/realtimetest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	ctx     = context.Background()
	discard = slog.New(slog.NewJSONHandler(io.Discard, nil))
	errDied = errors.New("the invocation died")
)

// Where a send's invocation dies: after one of its writes succeeds, or
// after its first push of several.
const (
	afterClaim  = "after the claim"
	afterPut    = "after the message put"
	halfPushed  = "halfway through the pushes"
	afterHead   = "after the head update"
	neverKilled = "not killed"
)

// killSwitch is an invocation that dies at a point: once it fires, every
// later store call and push of that invocation fails, as nothing of a dead
// sandbox runs.
type killSwitch struct {
	point  string
	dead   atomic.Bool
	pushes atomic.Int64
}

func (k *killSwitch) check() error {
	if k.dead.Load() {
		return errDied
	}
	return nil
}

func (k *killSwitch) after(point string) {
	if k.point == point {
		k.dead.Store(true)
	}
}

// dyingStore is the chat store as the dying invocation sees it.
type dyingStore struct {
	chat.Store
	k *killSwitch
}

func (s dyingStore) ClaimClientMsgID(ctx context.Context, c chat.Claim) (*chat.Claim, error) {
	if err := s.k.check(); err != nil {
		return nil, err
	}
	old, err := s.Store.ClaimClientMsgID(ctx, c)
	if err == nil && old == nil {
		s.k.after(afterClaim)
	}
	return old, err
}

func (s dyingStore) PutMessage(ctx context.Context, m chat.Message) (*chat.Message, error) {
	if err := s.k.check(); err != nil {
		return nil, err
	}
	old, err := s.Store.PutMessage(ctx, m)
	if err == nil && old == nil {
		s.k.after(afterPut)
	}
	return old, err
}

func (s dyingStore) AdvanceConversation(ctx context.Context, ref chat.ConvRef, m chat.Message, p string) error {
	if err := s.k.check(); err != nil {
		return err
	}
	err := s.Store.AdvanceConversation(ctx, ref, m, p)
	if err == nil {
		s.k.after(afterHead)
	}
	return err
}

// dyingPusher is the dying invocation's pushes.
type dyingPusher struct {
	realtime.Pusher
	k *killSwitch
}

func (p dyingPusher) Push(ctx context.Context, conn string, data []byte) error {
	// Pushes run concurrently: the first one goes out, every later one
	// finds the invocation dead.
	if p.k.pushes.Add(1) > 1 {
		p.k.after(halfPushed)
	}
	if err := p.k.check(); err != nil {
		return err
	}
	return p.Pusher.Push(ctx, conn, data)
}

// streamStore records every message item written: what the messages
// table's stream hands the backstop.
type streamStore struct {
	chat.Store
	mu       sync.Mutex
	inserted []chat.Message
}

func (s *streamStore) PutMessage(ctx context.Context, m chat.Message) (*chat.Message, error) {
	old, err := s.Store.PutMessage(ctx, m)
	if err == nil && old == nil {
		s.mu.Lock()
		s.inserted = append(s.inserted, m)
		s.mu.Unlock()
	}
	return old, err
}

// next returns the records not yet handed out (one stream batch).
func (s *streamStore) next() []chat.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.inserted
	s.inserted = nil
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// scene is a conversation with its recipients online, a healthy service
// (the backstop's, and a retrying client's) and the backstop.
type scene struct {
	env      *testenv.Env
	gw       *realtimetest.Gateway
	stream   *streamStore
	clock    *clock
	healthy  *chat.Service
	backstop *delivery.Backstop
	later    *memqueue.Queue
	sender   string
	in       chat.SendInput
	conv     chat.ConversationID
	online   []string // recipients' connections (two devices each)
	cursors  map[string]string
}

func newScene(t *testing.T, group bool) *scene {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	sc := &scene{env: env, gw: realtimetest.New(t), stream: &streamStore{Store: db.Chat}, clock: c}
	notifier := realtime.NewNotifier(db.Connections, sc.gw.Pusher(env.Cfg), nil, realtime.Config{}, discard)
	sc.healthy = chat.NewService(sc.stream, env.Cursors, chat.Config{}, chat.Options{Notifier: notifier, Log: discard, Now: c.now})
	sc.later = memqueue.New("repair", memqueue.Options{Now: c.now})
	sc.backstop = &delivery.Backstop{Chat: sc.healthy, Later: sc.later, PendingAge: chat.DefaultPendingAge, Log: discard, Now: c.now}

	u := testenv.NewUsers(t, users.NewService(db.Users, env.Cursors, nil), "kill", 3)
	sc.sender = u[0]
	recipients := u[1:2]
	sc.in = chat.SendInput{ToUser: u[1]}
	if group {
		recipients = u[1:]
		g, _, err := sc.healthy.CreateGroup(ctx, *testenv.User(u[0]), chat.CreateGroupInput{Name: "g", Members: recipients})
		if err != nil {
			t.Fatal(err)
		}
		sc.in = chat.SendInput{ToGroup: g.GroupID}
	}
	for _, r := range recipients {
		for range 2 {
			conn := testenv.ID("c") + "="
			if err := db.Connections.PutConnection(ctx, realtime.NewConnection(r, conn, c.now())); err != nil {
				t.Fatal(err)
			}
			sc.gw.Open(conn)
			sc.online = append(sc.online, conn)
		}
	}
	// A first message, delivered normally: the conversation exists and
	// every device has seen seq 1.
	first := sc.in
	first.Text = "first"
	m, _, err := sc.healthy.Send(ctx, *testenv.User(sc.sender), first)
	if err != nil {
		t.Fatal(err)
	}
	sc.conv = m.ConversationID
	sc.runBackstop(t)
	return sc
}

// dying is a service whose invocation dies at point.
func (sc *scene) dying(point string) *chat.Service {
	k := &killSwitch{point: point}
	db := dyingStore{Store: sc.stream, k: k}
	notifier := realtime.NewNotifier(sc.env.Stores().Connections, dyingPusher{Pusher: sc.gw.Pusher(sc.env.Cfg), k: k}, nil, realtime.Config{}, discard)
	return chat.NewService(db, sc.env.Cursors, chat.Config{}, chat.Options{Notifier: notifier, Log: discard, Now: sc.clock.now})
}

// runBackstop hands the stream's new records to the backstop, then runs
// whatever it held back once due, as the stream and the delay queue do.
func (sc *scene) runBackstop(t *testing.T) {
	t.Helper()
	if recs := sc.stream.next(); len(recs) > 0 {
		if err := sc.backstop.Stored(ctx, recs); err != nil {
			t.Fatalf("backstop, stream: %v", err)
		}
	}
	for range 3 { // the bound: each pass moves the clock past a delay
		if sc.later.Len() == 0 {
			return
		}
		sc.clock.add(chat.DefaultPendingAge + time.Second)
		runner := &queue.Runner{Name: "repair", Log: discard, Process: sc.backstop.Process}
		recs := sc.later.Receive(10, time.Minute)
		var records []queue.Record
		var handles []string
		for _, r := range recs {
			records = append(records, r.Record)
			handles = append(handles, r.Handle)
		}
		if res := runner.Run(ctx, records); len(res.Failed) > 0 || res.Malformed > 0 {
			t.Fatalf("backstop, queue: %+v", res)
		}
		sc.later.Delete(handles...)
	}
	t.Fatal("the backstop's delay queue did not drain")
}

// pushedSeqs is what one device saw: the seqs of message.created frames.
func (sc *scene) pushedSeqs(conn string) []int64 {
	var out []int64
	for _, fr := range sc.gw.Frames(conn) {
		if fr["type"] == string(chat.EventMessageCreated) {
			out = append(out, int64(fr["seq"].(float64)))
		}
	}
	return out
}

// TestKillPoints: a send whose invocation dies at any point after its
// first write still reaches every online recipient, sync and history
// within the delivery bound (the backstop's pending age plus one delay
// queue pass), for DMs and groups, with and without client_msg_id. On
// the happy path the backstop pushes nothing a second time.
func TestKillPoints(t *testing.T) {
	for _, group := range []bool{false, true} {
		for _, cmid := range []bool{true, false} {
			for _, point := range []string{afterClaim, afterPut, halfPushed, afterHead, neverKilled} {
				if point == afterClaim && !cmid {
					continue // no claim without a client_msg_id
				}
				name := fmt.Sprintf("dm/cmid=%v/%s", cmid, point)
				if group {
					name = fmt.Sprintf("group/cmid=%v/%s", cmid, point)
				}
				t.Run(name, func(t *testing.T) { killAt(t, group, cmid, point) })
			}
		}
	}
}

func killAt(t *testing.T, group, cmid bool, point string) {
	sc := newScene(t, group)
	in := sc.in
	in.Text = "second"
	if cmid {
		in.ClientMsgID = "k-1"
	}
	p := *testenv.User(sc.sender)
	_, _, err := sc.dying(point).Send(ctx, p, in)
	if point == neverKilled && err != nil {
		t.Fatalf("healthy send: %v", err)
	}
	// The dead invocation's reply never arrives. A client with a
	// client_msg_id retries; one without cannot safely, and learns the
	// outcome from sync.
	if cmid {
		m, created, err := sc.healthy.Send(ctx, p, in)
		if err != nil || m.Seq != 2 {
			t.Fatalf("retry: %+v %v", m, err)
		}
		if wantCreated := point == afterClaim; created != wantCreated {
			t.Fatalf("retry created=%v, want %v", created, wantCreated)
		}
	}
	sc.runBackstop(t)

	wantSeqs := 2
	if !cmid && point == afterClaim {
		wantSeqs = 1
	}
	for _, conn := range sc.online {
		seen := map[int64]int{}
		for _, s := range sc.pushedSeqs(conn) {
			seen[s]++
		}
		if len(seen) != wantSeqs || seen[2] == 0 {
			t.Errorf("device %s saw pushes %v, want seqs 1 and 2", conn, sc.pushedSeqs(conn))
		}
		if point == neverKilled && seen[2] != 1 {
			t.Errorf("device %s got seq 2 %d times on the happy path, want once (no second push)", conn, seen[2])
		}
	}
	// Sync from seq 1 returns seq 2: the head was advanced.
	page, err := sc.healthy.Sync(ctx, p, chat.SyncInput{Since: map[string]int64{string(sc.conv): 1}})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 2 || page.Messages[0].Text != "second" {
		t.Fatalf("sync: %+v %v", page.Messages, err)
	}
	// History is gapless and holds the message once.
	h, err := sc.healthy.History(ctx, p, string(sc.conv), chat.HistoryQuery{Limit: 10, After: new(int64(0))})
	if err != nil || len(h.Messages) != 2 || h.Messages[0].Seq != 1 || h.Messages[1].Seq != 2 {
		t.Fatalf("history: %+v %v", h.Messages, err)
	}
}

// TestBackstopCountsAHeadMovedOnAsDelivered: a message whose sender died
// before pushing, followed by another sender's message before the
// backstop looked, is revealed by that message's push: every device sees
// seq 3 and so the gap at 2, which clients fill from history
// (docs/websocket.md), and sync returns both.
func TestBackstopCountsAHeadMovedOnAsDelivered(t *testing.T) {
	sc := newScene(t, true)
	in := sc.in
	in.Text = "dies"
	p := *testenv.User(sc.sender)
	if _, _, err := sc.dying(afterPut).Send(ctx, p, in); err != nil {
		t.Logf("dying send: %v", err)
	}
	later := in
	later.Text = "later"
	m, _, err := sc.healthy.Send(ctx, p, later)
	if err != nil || m.Seq != 3 {
		t.Fatalf("later send: %+v %v", m, err)
	}
	sc.runBackstop(t)
	for _, conn := range sc.online {
		got := sc.pushedSeqs(conn)
		if len(got) != 2 || got[1] != 3 {
			t.Errorf("device %s saw %v, want 1 and 3 (the gap at 2 revealed)", conn, got)
		}
	}
	page, err := sc.healthy.Sync(ctx, p, chat.SyncInput{Since: map[string]int64{string(sc.conv): 1}})
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("sync: %+v %v", page.Messages, err)
	}
}

// TestFailedPushLeavesTheHeadBehind: a push that fails for one recipient's
// connection (throttled after every retry) leaves the head behind, so the
// backstop pushes again and the recipient gets the message within the
// bound; its other device drops the duplicate by seq.
func TestFailedPushLeavesTheHeadBehind(t *testing.T) {
	sc := newScene(t, false)
	in := sc.in
	in.Text = "throttled"
	sc.gw.FailNext(sc.online[0], 429, 429, 429, 429, 429, 429, 429, 429)
	p := *testenv.User(sc.sender)
	if _, _, err := sc.healthy.Send(ctx, p, in); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := sc.pushedSeqs(sc.online[0]); len(got) != 1 {
		t.Fatalf("throttled device saw %v before the backstop", got)
	}
	sc.runBackstop(t)
	for _, conn := range sc.online {
		if !slices.Contains(sc.pushedSeqs(conn), 2) {
			t.Errorf("device %s saw %v, want seq 2 after the backstop", conn, sc.pushedSeqs(conn))
		}
	}
	page, err := sc.healthy.Sync(ctx, p, chat.SyncInput{Since: map[string]int64{string(sc.conv): 1}})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 2 {
		t.Fatalf("sync: %+v %v", page.Messages, err)
	}
}

// TestBackstopGivesUpPushingButReveals: a connection that fails every push
// the backstop makes gets MaxRepairAttempts tries; then the head moves on
// anyway, so sync reveals the message.
func TestBackstopGivesUpPushingButReveals(t *testing.T) {
	sc := newScene(t, false)
	in := sc.in
	in.Text = "unlucky"
	var fails []int
	for range 4 * (chat.MaxRepairAttempts + 1) {
		fails = append(fails, 500)
	}
	sc.gw.FailNext(sc.online[0], fails...)
	p := *testenv.User(sc.sender)
	if _, _, err := sc.healthy.Send(ctx, p, in); err != nil {
		t.Fatalf("send: %v", err)
	}
	if recs := sc.stream.next(); len(recs) > 0 {
		if err := sc.backstop.Stored(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	for pass := 0; sc.later.Len() > 0; pass++ {
		if pass > 2*chat.MaxRepairAttempts {
			t.Fatal("the backstop never gave up")
		}
		sc.clock.add(time.Hour) // past any backoff
		runner := &queue.Runner{Name: "repair", Log: discard, Process: sc.backstop.Process}
		var records []queue.Record
		var handles []string
		for _, r := range sc.later.Receive(10, time.Minute) {
			records, handles = append(records, r.Record), append(handles, r.Handle)
		}
		if res := runner.Run(ctx, records); len(res.Failed) > 0 {
			t.Fatalf("queue: %+v", res)
		}
		sc.later.Delete(handles...)
	}
	page, err := sc.healthy.Sync(ctx, p, chat.SyncInput{Since: map[string]int64{string(sc.conv): 1}})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 2 {
		t.Fatalf("sync after the backstop gave up: %+v %v", page.Messages, err)
	}
}

// TestHeadlessDMHistory: a DM's first message whose head was never
// written (its sender died) is in history at once, for both sides.
func TestHeadlessDMHistory(t *testing.T) {
	env := testenv.Get(t)
	db := env.Stores()
	u := testenv.NewUsers(t, users.NewService(db.Users, env.Cursors, nil), "headless", 2)
	k := &killSwitch{point: afterPut}
	dying := chat.NewService(dyingStore{Store: db.Chat, k: k}, env.Cursors, chat.Config{}, chat.Options{Log: discard})
	dying.Send(ctx, *testenv.User(u[0]), chat.SendInput{ToUser: u[1], Text: "first"})
	healthy := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Log: discard})
	for _, who := range u {
		h, err := healthy.History(ctx, *testenv.User(who), string(chat.DMID(u[0], u[1])), chat.HistoryQuery{Limit: 10, After: new(int64(0))})
		if err != nil || len(h.Messages) != 1 || h.Messages[0].Text != "first" {
			t.Fatalf("%s: history %+v %v", who, h.Messages, err)
		}
	}
	// A stranger still finds nothing.
	stranger := testenv.NewUsers(t, users.NewService(db.Users, env.Cursors, nil), "stranger", 1)[0]
	if _, err := healthy.History(ctx, *testenv.User(stranger), string(chat.DMID(u[0], u[1])), chat.HistoryQuery{Limit: 10}); err == nil {
		t.Fatal("a stranger read a headless DM")
	}
}
