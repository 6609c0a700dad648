package realtime_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
)

// offlineLog records what a notifier reports offline.
type offlineLog struct {
	mu    sync.Mutex
	calls []string // "<conversation>#<seq>:<users>"
}

func (l *offlineLog) Offline(_ context.Context, f realtime.EventFrame, users []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("%s#%d:%v", f.ConversationID, f.Seq, users))
}

func (l *offlineLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// TestOfflineRecipients: the notifier reports, for each new message, the
// recipients none of whose connections got it (never the sender), from
// the inline path and from the fan-out worker's chunks; an edit, a read
// receipt or a typing frame is never reported.
func TestOfflineRecipients(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "off", 6)
	a, b := u[0], u[1]
	log := &offlineLog{}
	n := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), nil, realtime.Config{}, discard)
	n.SetOffline(log)
	dm := func() chat.Event { return w.messageEvent(t, a, chat.SendInput{ToUser: b, Text: "hi"}) }

	t.Run("DM to an offline user: the recipient, not the sender", func(t *testing.T) {
		w.online(t, a)
		e := dm()
		n.Notify(ctx, e)
		if got, want := log.take(), []string{fmt.Sprintf("%s#%d:[%s]", e.ConversationID, e.Seq, b)}; !slices.Equal(got, want) {
			t.Fatalf("reported %v, want %v", got, want)
		}
	})
	t.Run("DM to an online user: nobody", func(t *testing.T) {
		conn := w.online(t, b)
		e := dm()
		n.Notify(ctx, e)
		received(t, w.gw, conn, e.Seq)
		if got := log.take(); len(got) != 0 {
			t.Fatalf("reported %v", got)
		}
		w.gw.Drop(conn) // every push to it answers 410 from now on
	})
	t.Run("every connection gone (410): offline", func(t *testing.T) {
		e := dm()
		n.Notify(ctx, e)
		if got := log.take(); len(got) != 1 || got[0] != fmt.Sprintf("%s#%d:[%s]", e.ConversationID, e.Seq, b) {
			t.Fatalf("reported %v", got)
		}
	})
	t.Run("edits and recalls are reported, read receipts are not", func(t *testing.T) {
		e := dm()
		log.take()
		for _, typ := range []chat.EventType{chat.EventMessageEdited, chat.EventMessageRecalled, chat.EventConversationRead} {
			e.Type = typ
			n.Notify(ctx, e)
		}
		if got := log.take(); len(got) != 2 {
			t.Fatalf("reported %v, want the edit and the recall", got)
		}
	})
	t.Run("inline group: members without a live connection", func(t *testing.T) {
		g := w.group(t, a, u[1:4])
		w.online(t, u[2])
		e := w.messageEvent(t, a, chat.SendInput{ToGroup: g.GroupID, Text: "team"})
		n.Notify(ctx, e)
		want := []string{u[1], u[3]}
		slices.Sort(want)
		if got := log.take(); len(got) != 1 || got[0] != fmt.Sprintf("%s#%d:%v", e.ConversationID, e.Seq, want) {
			t.Fatalf("reported %v, want %v", got, want)
		}
	})
	t.Run("large group: each chunk reports its offline members", func(t *testing.T) {
		g := w.group(t, a, u[1:])
		q := &memQueue{}
		big := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), q, realtime.Config{InlineMax: 2}, discard)
		big.SetOffline(log)
		w.online(t, u[4])
		e := w.messageEvent(t, a, chat.SendInput{ToGroup: g.GroupID, Text: "all"})
		big.Notify(ctx, e)
		if got := log.take(); len(got) != 0 {
			t.Fatalf("the sender's invocation reported %v for a queued group", got)
		}
		for i := 0; i < 10 && len(q.jobs) > 0; i++ {
			j := q.jobs[0]
			q.jobs = q.jobs[1:]
			if err := big.Process(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{u[1], u[3], u[5]} // u[2] and u[4] are online, u[0] sent it
		slices.Sort(want)
		if got := log.take(); len(got) != 1 || got[0] != fmt.Sprintf("%s#%d:%v", e.ConversationID, e.Seq, want) {
			t.Fatalf("reported %v, want %v", got, want)
		}
	})
}
