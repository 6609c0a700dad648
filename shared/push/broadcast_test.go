package push_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// broadcasting adds the notification API and its worker to a world.
func (w *world) broadcasting(t *testing.T) *push.Broadcasts {
	t.Helper()
	s := w.store
	db := w.env.Stores()
	jobs := w.env.Queue("PushQueue")
	b := push.NewBroadcaster(s, jobs, push.StoreAudience{Members: db.Connections, Users: db.Users}, w.notifier, w.worker, push.BroadcastConfig{}, discard)
	w.jobs = push.Worker{Messages: w.worker, Broadcasts: b}
	return push.NewBroadcasts(s, jobs, push.BroadcastConfig{PerDay: 1000}, nil)
}

// manyUsers makes n users: straight into the memory store (10,000 in
// well under a second), through the service on the emulator.
func (w *world) manyUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	if w.env.Memory == nil {
		return w.newUsers(t, prefix, n)
	}
	ids := make([]string, n)
	now := time.Now().UTC()
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", testenv.ID(prefix), i)
		if _, err := w.env.Memory.Users.PutUserIfAbsent(context.Background(), users.New(users.CreateInput{UserID: ids[i]}, now)); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func allUsers(t *testing.T, s interface {
	ListUsers(ctx context.Context, limit int, page []byte) ([]users.User, []byte, error)
}) int {
	t.Helper()
	n := 0
	var page []byte
	for range 1000 {
		us, next, err := s.ListUsers(ctx, 1000, page)
		if err != nil {
			t.Fatal(err)
		}
		n += len(us)
		if page = next; page == nil {
			return n
		}
	}
	t.Fatal("users did not end")
	return 0
}

// TestBroadcastToEveryone: a broadcast to all users (10,000 on the memory
// backend, 60 on the emulator; a third with a device, a fifth online)
// reaches each user exactly once - live if online, else pushed - with
// exact counts, although pushes fail and every job is delivered three
// times; a retried submit with its Idempotency-Key notifies nobody again.
func TestBroadcastToEveryone(t *testing.T) {
	w := newWorld(t)
	api := w.broadcasting(t)
	n := 10000
	if testenv.AWS() {
		n = 60
	}
	ids := w.manyUsers(t, "all", n)
	conns := map[string]string{}
	withDevice := map[string]bool{}
	var tokens []string
	for i, u := range ids {
		if i%5 == 0 {
			conns[u] = testenv.ID("c")
			if err := w.env.Stores().Connections.PutConnection(ctx, realtime.NewConnection(u, conns[u], time.Now().Add(-time.Minute))); err != nil {
				t.Fatal(err)
			}
			w.gw.Open(conns[u])
		}
		if i%3 == 0 {
			withDevice[u] = true
			tokens = append(tokens, w.device(t, u, "phone", push.FCM))
		}
	}
	for _, tok := range tokens[:len(tokens)/10] { // one push in ten fails once
		w.rec.FailNext(tok, 1)
	}
	total := allUsers(t, w.env.Stores().Users)
	in := push.Broadcast{Title: "Maintenance", Body: "Tonight at 22:00 UTC", Link: "https://status.example.com", Audience: push.Audience{All: true}}
	b, replayed, err := api.Submit(ctx, *testenv.Admin(), in, "bcast-"+testenv.ID("k"))
	if err != nil || replayed || b.State != push.StateRunning {
		t.Fatalf("submit: %+v %v %v", b, replayed, err)
	}
	var bodies []string
	failed := 0
	for round := 0; round < 20; round++ { // drain, then deliver every job again (redeliveries)
		got, f := w.drain(t)
		if len(got) == 0 {
			break
		}
		bodies, failed = append(bodies, got...), failed+f
	}
	if failed == 0 {
		t.Fatal("no job failed: the injected push failures did not happen")
	}
	for range 2 {
		for _, body := range bodies {
			if err := w.run(body); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
		}
	}
	got, err := api.Get(ctx, *testenv.Admin(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want push.Counts
	for _, u := range ids {
		switch {
		case conns[u] != "":
			want.DeliveredLive++
		case withDevice[u]:
			want.Pushed++
		default:
			want.NoDevice++
		}
	}
	want.NoDevice += int64(total - n) // other tests' users, none online, none with a device
	want.Targeted = int64(total)
	if got.State != push.StateDone || got.Counts != want {
		t.Fatalf("state %s counts %+v\nwant %+v", got.State, got.Counts, want)
	}
	for _, u := range ids {
		frames := 0
		if c := conns[u]; c != "" {
			for _, f := range w.gw.Frames(c) {
				if f["type"] == "notification" && f["notification_id"] == b.ID {
					frames++
				}
			}
		}
		pushes := len(w.rec.To(u, "phone"))
		if frames+pushes > 1 || (conns[u] != "" && frames != 1) || (conns[u] == "" && withDevice[u] && pushes != 1) {
			t.Fatalf("%s: %d frames, %d pushes", u, frames, pushes)
		}
		page, err := api.Inbox(ctx, *testenv.User(u), u, 0, "")
		if err != nil || len(page.Notifications) != 1 || page.Notifications[0].ID != b.ID || page.Notifications[0].Title != "Maintenance" {
			t.Fatalf("%s inbox %+v %v", u, page, err)
		}
	}
	again, replayed, err := api.Submit(ctx, *testenv.Admin(), in, "")
	if err != nil || replayed || again.ID == b.ID {
		t.Fatalf("a submit without a key is a new job: %+v %v %v", again, replayed, err)
	}
}

// TestBroadcastAudiences: a group's members and a list of user ids, each
// through the worker with every job delivered twice: each targeted user is
// counted once in the right bucket (live, pushed, suppressed by DND, no
// device), nobody outside the audience is notified, and the list's 56
// users span two chunks.
func TestBroadcastAudiences(t *testing.T) {
	w := newWorld(t)
	api := w.broadcasting(t)
	u := w.newUsers(t, "aud", 6)
	owner, online, phone, quiet, bare, outsider := u[0], u[1], u[2], u[3], u[4], u[5]
	g, _, err := w.chat.CreateGroup(ctx, *testenv.User(owner), chat.CreateGroupInput{Name: "g", Members: []string{online, phone, quiet, bare}})
	if err != nil {
		t.Fatal(err)
	}
	conn := testenv.ID("c")
	if err := w.env.Stores().Connections.PutConnection(ctx, realtime.NewConnection(online, conn, time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	w.gw.Open(conn)
	for _, d := range []string{owner, phone, quiet, outsider} {
		w.device(t, d, "phone", push.FCM)
	}
	now := time.Now().UTC()
	dnd := push.Prefs{Preview: true, DND: &push.DND{Start: now.Add(-time.Hour).Format("15:04"), End: now.Add(time.Hour).Format("15:04"), TimeZone: "UTC"}}
	if _, err := w.settings.Put(ctx, *testenv.User(quiet), quiet, dnd); err != nil {
		t.Fatal(err)
	}
	run := func(in push.Broadcast) push.Broadcast {
		t.Helper()
		b, _, err := api.Submit(ctx, *testenv.Admin(), in, "")
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for range 10 {
			got, failed := w.drain(t)
			if failed != 0 {
				t.Fatalf("%d jobs failed", failed)
			}
			if len(got) == 0 {
				break
			}
			bodies = append(bodies, got...)
		}
		for _, body := range bodies { // every job again: redeliveries
			if err := w.run(body); err != nil {
				t.Fatal(err)
			}
		}
		got, err := api.Get(ctx, *testenv.Admin(), b.ID)
		if err != nil || got.State != push.StateDone {
			t.Fatalf("get %+v %v", got, err)
		}
		return got
	}
	inbox := func(user, id string) bool {
		page, err := api.Inbox(ctx, *testenv.User(user), user, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(page.Notifications, func(n push.InboxItem) bool { return n.ID == id })
	}

	gb := run(push.Broadcast{Title: "Team", Body: "Standup moved", Audience: push.Audience{GroupID: g.GroupID}})
	if want := (push.Counts{Targeted: 5, DeliveredLive: 1, Pushed: 2, Suppressed: 1, NoDevice: 1}); gb.Counts != want {
		t.Fatalf("group counts %+v, want %+v", gb.Counts, want)
	}
	for _, m := range []string{owner, online, phone, quiet, bare} {
		if !inbox(m, gb.ID) {
			t.Fatalf("member %s has no notification", m)
		}
	}
	if inbox(outsider, gb.ID) || len(w.rec.To(outsider, "phone")) != 0 {
		t.Fatal("a non-member was notified")
	}
	if len(w.rec.To(phone, "phone")) != 1 || len(w.rec.To(owner, "phone")) != 1 || len(w.rec.To(quiet, "phone")) != 0 {
		t.Fatalf("pushes: phone %d owner %d quiet %d", len(w.rec.To(phone, "phone")), len(w.rec.To(owner, "phone")), len(w.rec.To(quiet, "phone")))
	}
	frames := 0
	for _, f := range w.gw.Frames(conn) {
		if f["type"] == "notification" && f["notification_id"] == gb.ID {
			frames++
		}
	}
	if frames != 1 {
		t.Fatalf("online member got %d frames", frames)
	}

	list := append(w.manyUsers(t, "list", 54), outsider, phone)
	lb := run(push.Broadcast{Title: "List", Body: "Hello", Audience: push.Audience{UserIDs: list}})
	if want := (push.Counts{Targeted: 56, Pushed: 2, NoDevice: 54}); lb.Counts != want || lb.ChunksTotal != 2 {
		t.Fatalf("list counts %+v (%d chunks), want %+v in 2", lb.Counts, lb.ChunksTotal, want)
	}
	if !inbox(outsider, lb.ID) || inbox(owner, lb.ID) || len(w.rec.To(outsider, "phone")) != 1 || len(w.rec.To(owner, "phone")) != 1 {
		t.Fatal("list audience: wrong users notified")
	}
}
