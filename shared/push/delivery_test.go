package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/push/pushtest"
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

// world is a chat service whose notifier pushes over a fake gateway and
// queues offline recipients on PushQueue, and the push worker's use case
// over a recording platform.
type world struct {
	env      *testenv.Env
	gw       *realtimetest.Gateway
	notifier *realtime.Notifier
	chat     *chat.Service
	users    *users.Service
	store    pushtest.Store
	devices  *push.Devices
	settings *push.Settings
	rec      *pushtest.Recorder
	worker   *push.Deliverer
	jobs     interface {
		Process(context.Context, push.Job) (push.Outcome, error)
	}
	now time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	w := &world{env: env, gw: realtimetest.New(t), rec: &pushtest.Recorder{}, now: time.Now()}
	w.store = pushtest.NewStore(env)
	// A delivery that runs out of time reports nobody offline (it cannot
	// tell): a generous bound keeps a busy emulator from dropping jobs.
	w.notifier = realtime.NewNotifier(db.Connections, w.gw.Pusher(env.Cfg), nil, realtime.Config{Timeout: 30 * time.Second}, discard)
	w.notifier.SetOffline(push.NewEnqueuer(env.Queue("PushQueue"), discard))
	w.chat = chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Notifier: w.notifier})
	w.users = users.NewService(db.Users, env.Cursors, nil)
	w.devices = push.NewDevices(w.store, db.Users, discard, nil)
	w.settings = push.NewSettings(w.store, db.Users, func() time.Time { return w.now })
	senders := map[push.Platform]push.Sender{push.APNs: w.rec, push.APNsSandbox: w.rec, push.FCM: w.rec, push.Web: w.rec}
	w.worker = push.NewDeliverer(w.store, w.store, push.ChatUnread{Chat: w.chat}, senders, discard, func() time.Time { return w.now })
	w.jobs = push.Worker{Messages: w.worker}
	w.drain(t) // jobs another test left (the emulator's queue is shared)
	return w
}

func (w *world) newUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	return testenv.NewUsers(t, w.users, prefix, n)
}

func token(p push.Platform) string {
	id := strings.ReplaceAll(testenv.ID("t"), "-", "")
	if p == push.FCM {
		return "fcm-" + id + strings.Repeat("x", 40)
	}
	return strings.Repeat("ab", 27) + id[1:] // 54 + 10 hex
}

// device registers a device and returns its token.
func (w *world) device(t *testing.T, user, id string, p push.Platform) string {
	t.Helper()
	tok := token(p)
	if _, _, err := w.devices.Register(ctx, *testenv.User(user), user, id, push.Registration{Platform: p, Token: tok}); err != nil {
		t.Fatal(err)
	}
	return tok
}

func (w *world) send(t *testing.T, from, to, text string) chat.Message {
	t.Helper()
	m, _, err := w.chat.Send(ctx, *testenv.User(from), chat.SendInput{ToUser: to, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	w.backstop(t, m)
	return m
}

// backstop does at once what the delivery backstop does within the
// delivery bound in a deployment: a message whose head is behind it (its
// push failed, here typically an emulator call that broke under load) is
// pushed again, so its offline recipients are reported. On the happy
// path it reads one head and does nothing.
func (w *world) backstop(t *testing.T, m chat.Message) {
	t.Helper()
	res, err := w.chat.CheckStored(ctx, []chat.Message{m}, 0)
	for range 5 {
		if err != nil {
			t.Fatalf("backstop: %v", err)
		}
		if len(res.Pending) == 0 {
			return
		}
		res, err = w.chat.RepairPending(ctx, res.Pending, 0)
	}
	t.Fatalf("backstop: message %s/%d still pending", m.ConversationID, m.Seq)
}

// drain runs every job on PushQueue through the worker until the queue
// is empty (bounded); a job that fails stays (it is redelivered) and is
// returned, with the bodies of all jobs run.
func (w *world) drain(t *testing.T) (bodies []string, failed int) {
	t.Helper()
	receive, done := w.env.Receiver(t, "PushQueue", time.Hour)
	for range 100 {
		got, handles := receive()
		if len(got) == 0 {
			return bodies, failed
		}
		for i, body := range got {
			bodies = append(bodies, body)
			if err := w.run(body); err != nil {
				failed++
				continue
			}
			done(handles[i])
		}
	}
	t.Fatal("push queue did not drain")
	return nil, 0
}

// drainRetrying runs every queued job to success, retrying a failed one
// at once up to 3 times (as SQS would after its visibility timeout), and
// fails the test with the error if it still fails: a job left invisible
// for the Receiver's hour would silently drop its pushes from the test.
func (w *world) drainRetrying(t *testing.T) {
	t.Helper()
	receive, done := w.env.Receiver(t, "PushQueue", time.Hour)
	for range 100 {
		got, handles := receive()
		if len(got) == 0 {
			return
		}
		for i, body := range got {
			var err error
			for range 4 {
				if err = w.run(body); err == nil {
					break
				}
				t.Logf("push job failed, retrying: %v", err)
			}
			if err != nil {
				t.Fatalf("push job failed 4 times: %v", err)
			}
			done(handles[i])
		}
	}
	t.Fatal("push queue did not drain")
}

func (w *world) run(body string) error {
	var j push.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return err
	}
	_, err := w.jobs.Process(ctx, j)
	return err
}

func seqs(as []push.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Data["seq"])
	}
	return out
}

// TestOfflineDMs: B is offline with two devices; A sends five DMs. Each
// of B's devices gets exactly five pushes, in order, with the text and
// B's unread count as badge; A gets none; running every job again (a
// redelivery) or replaying a Notify pushes nothing more.
func TestOfflineDMs(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "dm", 2)
	a, b := u[0], u[1]
	w.device(t, b, "iphone", push.APNs)
	w.device(t, b, "pixel", push.FCM)
	w.device(t, a, "a-phone", push.APNs)
	var all []string
	var last chat.Message
	for i := 1; i <= 5; i++ {
		last = w.send(t, a, b, fmt.Sprint("hello ", i))
		bodies, failed := w.drain(t)
		if len(bodies) != 1 || failed != 0 {
			t.Fatalf("message %d: %d jobs, %d failed", i, len(bodies), failed)
		}
		all = append(all, bodies...)
	}
	for _, dev := range []string{"iphone", "pixel"} {
		got := w.rec.To(b, dev)
		if !slices.Equal(seqs(got), []string{"1", "2", "3", "4", "5"}) {
			t.Fatalf("%s got seqs %v", dev, seqs(got))
		}
		for i, al := range got {
			if al.Body != fmt.Sprint("hello ", i+1) || al.Title != a || al.Badge != int64(i+1) || al.ThreadID != string(last.ConversationID) {
				t.Fatalf("%s push %d: %+v", dev, i, al)
			}
		}
	}
	if n := w.rec.ToUser(a); n != 0 {
		t.Fatalf("the sender got %d pushes", n)
	}
	for _, body := range all {
		if err := w.run(body); err != nil {
			t.Fatal(err)
		}
	}
	w.notifier.Notify(ctx, chat.Event{Type: chat.EventMessageCreated, ConversationID: last.ConversationID, Seq: last.Seq, Actor: a, Message: &last, At: last.CreatedAt})
	w.drain(t)
	if n := w.rec.ToUser(b); n != 10 {
		t.Fatalf("after redelivery and replay: %d pushes, want 10", n)
	}
}

// TestOnlineRecipientIsNotPushed: a live WebSocket delivery means no job.
func TestOnlineRecipientIsNotPushed(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "on", 2)
	w.device(t, u[1], "iphone", push.APNs)
	conn := testenv.ID("c")
	if err := w.env.Stores().Connections.PutConnection(ctx, realtime.NewConnection(u[1], conn, time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	w.gw.Open(conn)
	w.send(t, u[0], u[1], "are you there")
	if bodies, _ := w.drain(t); len(bodies) != 0 || w.rec.ToUser(u[1]) != 0 {
		t.Fatalf("%d jobs, %d pushes", len(bodies), w.rec.ToUser(u[1]))
	}
	if len(w.gw.Frames(conn)) != 1 {
		t.Fatalf("frames %v", w.gw.Frames(conn))
	}
}

// TestPreferences: DND in the user's time zone, a muted conversation
// (until a time), mentions in a DM (every message: it is addressed to the
// reader; groups: TestMentionsLevel) and preview off (no
// sender, no text; the conversation id stays, for the app to open it).
func TestPreferences(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "pref", 3)
	a, b, c := u[0], u[1], u[2]
	w.device(t, b, "iphone", push.APNs)
	me := *testenv.User(b)
	// 23:30 in Tokyo is 14:30 UTC.
	w.now = time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC)
	dnd := push.Prefs{Preview: true, DND: &push.DND{Start: "22:00", End: "07:00", TimeZone: "Asia/Tokyo"}}
	if _, err := w.settings.Put(ctx, me, b, dnd); err != nil {
		t.Fatal(err)
	}
	w.send(t, a, b, "late")
	w.drain(t)
	if n := w.rec.ToUser(b); n != 0 {
		t.Fatalf("pushed %d during DND", n)
	}
	w.now = time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC) // 08:30 in Tokyo
	w.send(t, a, b, "morning")
	w.drain(t)
	if got := w.rec.To(b, "iphone"); len(got) != 1 || got[0].Body != "morning" || got[0].Badge != 2 {
		t.Fatalf("after DND: %+v", got)
	}

	dm := "dm:" + a + ":" + b
	until := w.now.Add(time.Hour)
	if _, err := w.settings.PutConversation(ctx, me, b, dm, push.ConvPref{Level: push.LevelNone, Until: &until}); err != nil {
		t.Fatal(err)
	}
	w.send(t, a, b, "muted")
	w.send(t, c, b, "not muted")
	w.drain(t)
	if got := w.rec.To(b, "iphone"); len(got) != 2 || got[1].Body != "not muted" {
		t.Fatalf("with %s muted: %+v", dm, got)
	}
	w.now = until.Add(time.Second)
	w.send(t, a, b, "mute over")
	w.drain(t)
	if got := w.rec.To(b, "iphone"); len(got) != 3 || got[2].Body != "mute over" {
		t.Fatalf("after until: %+v", got)
	}
	if _, err := w.settings.PutConversation(ctx, me, b, dm, push.ConvPref{Level: push.LevelMentions}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.settings.Put(ctx, me, b, push.Prefs{Preview: false}); err != nil {
		t.Fatal(err)
	}
	w.send(t, a, b, "secret plans")
	w.drain(t)
	got := w.rec.To(b, "iphone")
	if len(got) != 4 {
		t.Fatalf("mentions level: %d pushes", len(got))
	}
	p := got[3]
	if p.Body != push.NoPreview || p.Title != "" || strings.Contains(fmt.Sprint(p), "secret") || p.Badge != 6 {
		t.Fatalf("preview off: %+v", p)
	}
}

// TestMentionsLevel: in a group, a member at level mentions is pushed
// only the messages that mention them by id or @all; a member at all gets
// every one; the level's until ends it.
func TestMentionsLevel(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "ment", 3)
	a, b, c := u[0], u[1], u[2]
	w.device(t, b, "iphone", push.APNs)
	w.device(t, c, "pixel", push.FCM)
	g, _, err := w.chat.CreateGroup(ctx, *testenv.User(a), chat.CreateGroupInput{Name: "g", Members: []string{b, c}})
	if err != nil {
		t.Fatal(err)
	}
	conv := string(chat.GroupConversationID(g.GroupID))
	until := w.now.Add(time.Hour)
	if _, err := w.settings.PutConversation(ctx, *testenv.User(b), b, conv, push.ConvPref{Level: push.LevelMentions, Until: &until}); err != nil {
		t.Fatal(err)
	}
	send := func(text string, mentions ...string) {
		t.Helper()
		m, _, err := w.chat.Send(ctx, *testenv.User(a), chat.SendInput{ToGroup: g.GroupID, Text: text, Mentions: mentions})
		if err != nil {
			t.Fatal(err)
		}
		w.backstop(t, m)
		w.drainRetrying(t)
	}
	send("plain")
	send("for b", b)
	send("for c", c)
	send("for everyone", chat.MentionAll)
	w.now = until.Add(time.Second)
	send("level over")
	bodies := func(as []push.Alert) []string {
		var out []string
		for _, al := range as {
			out = append(out, al.Body)
		}
		return out
	}
	if got := bodies(w.rec.To(b, "iphone")); !slices.Equal(got, []string{"for b", "for everyone", "level over"}) {
		t.Fatalf("b (mentions) got %q", got)
	}
	if got := bodies(w.rec.To(c, "pixel")); !slices.Equal(got, []string{"plain", "for b", "for c", "for everyone", "level over"}) {
		t.Fatalf("c (all) got %q", got)
	}
}

// TestPushOrderUnderConcurrency is what docs/push.md ("Order") promises
// when a conversation's jobs run at once in any order (SQS standard
// queue, parallel workers): each of B's devices gets each message exactly
// once, each push carrying its own seq, message id and collapse id, and
// sorting by data.seq gives the send order. (Send order itself is not
// promised, so it is not asserted.)
func TestPushOrderUnderConcurrency(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "order", 2)
	a, b := u[0], u[1]
	w.device(t, b, "iphone", push.APNs)
	w.device(t, b, "pixel", push.FCM)
	const n = 8
	sent := map[string]chat.Message{}
	for i := 1; i <= n; i++ {
		m := w.send(t, a, b, fmt.Sprint("burst ", i))
		sent[fmt.Sprint(m.Seq)] = m
	}
	receive, done := w.env.Receiver(t, "PushQueue", time.Hour)
	var bodies, handles []string
	for len(bodies) < n {
		got, hs := receive()
		if len(got) == 0 {
			t.Fatalf("%d jobs queued, want %d", len(bodies), n)
		}
		bodies, handles = append(bodies, got...), append(handles, hs...)
	}
	rand.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	var wg sync.WaitGroup
	for _, body := range append(bodies, bodies[:n/2]...) { // half of them twice: redeliveries
		wg.Go(func() {
			if err := w.run(body); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, h := range handles {
		done(h)
	}
	for _, dev := range []string{"iphone", "pixel"} {
		got := w.rec.To(b, dev)
		if len(got) != n {
			t.Fatalf("%s got %d pushes, want %d", dev, len(got), n)
		}
		seen := map[string]bool{}
		for _, al := range got {
			m, ok := sent[al.Data["seq"]]
			if !ok || seen[al.Data["seq"]] || al.Body != m.Text || al.Data["message_id"] != m.MessageID ||
				al.CollapseID != push.CollapseID(string(m.ConversationID), m.Seq) || al.ThreadID != string(m.ConversationID) {
				t.Fatalf("%s: push %+v (seen %v)", dev, al, seen)
			}
			seen[al.Data["seq"]] = true
		}
		sorted := slices.SortedFunc(slices.Values(got), func(x, y push.Alert) int {
			i, _ := strconv.Atoi(x.Data["seq"])
			j, _ := strconv.Atoi(y.Data["seq"])
			return i - j
		})
		for i, al := range sorted {
			if al.Body != fmt.Sprint("burst ", i+1) {
				t.Fatalf("%s sorted by seq: %d is %q", dev, i, al.Body)
			}
		}
	}
}

// TestDisabledAndMovedTokens: a token the platform reports gone is
// deleted after its first failed push and never tried again; a token
// registered by another user stops reaching the first.
func TestDisabledAndMovedTokens(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "tok", 3)
	a, b, c := u[0], u[1], u[2]
	phone := w.device(t, b, "iphone", push.APNs)
	pixel := w.device(t, b, "pixel", push.FCM)
	w.rec.Disable(phone)
	w.send(t, a, b, "one")
	w.drain(t)
	ds, err := w.devices.List(ctx, *testenv.User(b), b)
	if err != nil || len(ds) != 1 || ds[0].DeviceID != "pixel" {
		t.Fatalf("devices after a gone token: %+v %v", ds, err)
	}
	attempts := w.rec.Attempts()
	w.send(t, a, b, "two")
	w.drain(t)
	if w.rec.Attempts() != attempts+1 || len(w.rec.To(b, "pixel")) != 2 {
		t.Fatalf("attempts %d -> %d, pixel got %d", attempts, w.rec.Attempts(), len(w.rec.To(b, "pixel")))
	}
	// C registers B's old phone.
	if _, _, err := w.devices.Register(ctx, *testenv.User(c), c, "used-pixel", push.Registration{Platform: push.FCM, Token: pixel}); err != nil {
		t.Fatal(err)
	}
	w.send(t, a, b, "for b")
	w.send(t, a, c, "for c")
	w.drain(t)
	if len(w.rec.To(b, "pixel")) != 2 || len(w.rec.To(c, "used-pixel")) != 1 || w.rec.To(c, "used-pixel")[0].Body != "for c" {
		t.Fatalf("b's pixel %v, c's %v", w.rec.To(b, "pixel"), w.rec.To(c, "used-pixel"))
	}
}

// TestRetryableFailure: a push that fails retryably fails the job; its
// redelivery pushes that device once and the others not again.
func TestRetryableFailure(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "retry", 2)
	w.device(t, u[1], "iphone", push.APNs)
	pixel := w.device(t, u[1], "pixel", push.FCM)
	w.rec.FailNext(pixel, 1)
	w.send(t, u[0], u[1], "eventually")
	bodies, failed := w.drain(t)
	if failed != 1 {
		t.Fatalf("%d jobs, %d failed", len(bodies), failed)
	}
	if err := w.run(bodies[0]); err != nil { // the redelivery
		t.Fatal(err)
	}
	if len(w.rec.To(u[1], "iphone")) != 1 || len(w.rec.To(u[1], "pixel")) != 1 {
		t.Fatalf("iphone %d, pixel %d", len(w.rec.To(u[1], "iphone")), len(w.rec.To(u[1], "pixel")))
	}
}

// TestEditAndRecall: an edit replaces the notification a device was
// pushed (same collapse id, new text) and a recall replaces it with
// "Message recalled"; a user who got the message live is not pushed the
// change even when offline by then.
func TestEditAndRecall(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "chg", 3)
	a, b, c := u[0], u[1], u[2]
	w.device(t, b, "iphone", push.APNs)
	w.device(t, c, "iphone", push.APNs)
	conn := testenv.ID("c")
	if err := w.env.Stores().Connections.PutConnection(ctx, realtime.NewConnection(c, conn, time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	w.gw.Open(conn)
	toB := w.send(t, a, b, "see you at 5")
	toC := w.send(t, a, c, "see you at 5")
	w.drain(t)
	w.gw.Drop(conn) // c is offline from now on
	sender := *testenv.User(a)
	if _, err := w.chat.Edit(ctx, sender, string(toB.ConversationID), toB.Seq, "see you at 6"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.chat.Edit(ctx, sender, string(toC.ConversationID), toC.Seq, "see you at 6"); err != nil {
		t.Fatal(err)
	}
	bodies, _ := w.drain(t)
	if _, err := w.chat.Recall(ctx, sender, string(toB.ConversationID), toB.Seq); err != nil {
		t.Fatal(err)
	}
	more, _ := w.drain(t)
	for _, body := range append(bodies, more...) { // redelivered: nothing more
		if err := w.run(body); err != nil {
			t.Fatal(err)
		}
	}
	got := w.rec.To(b, "iphone")
	if len(got) != 3 {
		t.Fatalf("b got %d pushes: %+v", len(got), got)
	}
	for i, want := range []struct{ body, typ string }{{"see you at 5", "message.created"}, {"see you at 6", "message.edited"}, {push.Recalled, "message.recalled"}} {
		if got[i].Body != want.body || got[i].Data["type"] != want.typ || got[i].CollapseID != got[0].CollapseID || got[i].Data["seq"] != got[0].Data["seq"] {
			t.Fatalf("push %d: %+v, want %s %s with the first's collapse id", i, got[i], want.body, want.typ)
		}
	}
	if n := w.rec.ToUser(c); n != 0 {
		t.Fatalf("c, who read it live, got %d pushes", n)
	}
}
