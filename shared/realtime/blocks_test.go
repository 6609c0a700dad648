package realtime_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
)

// frames counts the frames of type typ for seq that conn received.
func frames(w *world, conn, typ string, seq int64) int {
	n := 0
	for _, f := range w.gw.Frames(conn) {
		if f["type"] == typ && f["seq"] == float64(seq) {
			n++
		}
	}
	return n
}

// blocks is the moderation store's block index over cfg (the emulator's)
// or the memory backend's store.
func (w *world) blocks(cfg aws.Config) *moderation.BlockIndex {
	if testenv.AWS() {
		return moderation.NewBlockIndex(dynamo.NewModeration(dynamodb.NewFromConfig(cfg), w.env.Tables), nil)
	}
	return moderation.NewBlockIndex(w.env.Moderation(), nil)
}

func (w *world) block(t *testing.T, owner, other string) {
	t.Helper()
	if err := w.env.Moderation().PutBlock(ctx, moderation.Block{UserID: owner, BlockedID: other, At: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
}

// TestBlockersGetNoGroupPush: when B has blocked A, B's devices get no
// live push of A's group messages (new or edited) and B no offline
// notification, inline and through the fan-out worker; everyone else
// still gets them; B still gets A's recalls, system messages and
// others' messages; the block is one-way; and the message stays in B's
// history.
func TestBlockersGetNoGroupPush(t *testing.T) {
	w := newWorld(t)
	for _, path := range []struct {
		name   string
		inline int // InlineMax: 2 sends this 5-member group through the queue
	}{{"inline", 0}, {"fan-out", 2}} {
		t.Run(path.name, func(t *testing.T) {
			u := w.newUsers(t, "blk", 5)
			a, b, c, d, e := u[0], u[1], u[2], u[3], u[4] // d and e offline; b and d block a
			g := w.group(t, a, u[1:])
			connA, connB, connC := w.online(t, a), w.online(t, b), w.online(t, c)
			w.block(t, b, a)
			w.block(t, d, a)
			q := &memQueue{}
			n := realtime.NewNotifier(w.db.Connections, w.gw.Pusher(w.env.Cfg), q, realtime.Config{InlineMax: path.inline}, discard)
			off := &offlineLog{}
			n.SetOffline(off)
			n.SetBlocks(w.blocks(w.env.Cfg))
			notify := func(ev chat.Event) {
				t.Helper()
				n.Notify(ctx, ev)
				for i := 0; i < 10 && len(q.jobs) > 0; i++ { // bounded: plan, then chunks
					jobs := q.jobs
					q.jobs = nil
					for _, j := range jobs {
						if err := n.Process(ctx, j); err != nil {
							t.Fatal(err)
						}
					}
				}
			}

			ev := w.messageEvent(t, a, chat.SendInput{ToGroup: g.GroupID, Text: "from a"})
			notify(ev)
			if frames(w, connC, "message.created", ev.Seq) != 1 || frames(w, connB, "message.created", ev.Seq) != 0 {
				t.Fatalf("c got %d, b got %d frames of a's message, want 1 and 0", frames(w, connC, "message.created", ev.Seq), frames(w, connB, "message.created", ev.Seq))
			}
			if got, want := off.take(), []string{fmt.Sprintf("%s#%d:[%s]", ev.ConversationID, ev.Seq, e)}; !slices.Equal(got, want) {
				t.Fatalf("offline %v, want %v (d blocked a)", got, want)
			}
			edit := ev
			edit.Type = chat.EventMessageEdited
			notify(edit)
			if frames(w, connB, "message.edited", ev.Seq) != 0 || frames(w, connC, "message.edited", ev.Seq) != 1 {
				t.Fatal("an edit of a's message reached b, or missed c")
			}
			recall := ev
			recall.Type = chat.EventMessageRecalled
			notify(recall)
			if frames(w, connB, "message.recalled", ev.Seq) != 1 {
				t.Fatal("b did not get a's recall (it carries no content)")
			}
			fromB := w.messageEvent(t, b, chat.SendInput{ToGroup: g.GroupID, Text: "from b"})
			notify(fromB)
			if frames(w, connA, "message.created", fromB.Seq) != 1 {
				t.Fatal("a did not get b's message: a block is one-way")
			}
			sys, _, err := w.chat.Send(ctx, *testenv.Admin(), chat.SendInput{ToGroup: g.GroupID, System: true, Text: "notice"})
			if err != nil {
				t.Fatal(err)
			}
			notify(chat.Event{Type: chat.EventMessageCreated, ConversationID: sys.ConversationID, GroupID: g.GroupID, Seq: sys.Seq, Message: &sys, At: sys.CreatedAt})
			if frames(w, connB, "message.created", sys.Seq) != 1 {
				t.Fatal("b did not get a system message")
			}
			page, err := w.chat.History(ctx, *testenv.User(b), string(ev.ConversationID), chat.HistoryQuery{Limit: 10, After: new(int64(0))})
			if err != nil || !slices.ContainsFunc(page.Messages, func(m chat.Message) bool { return m.Seq == ev.Seq }) {
				t.Fatalf("a's message is not in b's history: %v", err)
			}
		})
	}
}

// TestBlocksPushCost pins what holding back blocked senders costs a group
// push: one BatchGetItem of the recipients' block entries per inline push
// (per chunk through the fan-out queue), and none for a sender whose
// answers this sandbox read within moderation.BlockTTL.
func TestBlocksPushCost(t *testing.T) {
	w := newWorld(t)
	u := w.newUsers(t, "bc", 10)
	g := w.group(t, u[0], u[1:])
	var conns []string
	for _, id := range u[:4] {
		conns = append(conns, w.online(t, id))
	}
	w.block(t, u[3], u[0])
	acfg, c := w.env.Counted()
	conns2 := w.db.Connections
	if testenv.AWS() {
		conns2 = w.env.DB(acfg).Connections
	}
	n := realtime.NewNotifier(conns2, w.gw.Pusher(acfg), w.fanoutQueue(acfg), realtime.Config{}, discard)
	n.SetBlocks(w.blocks(acfg))
	for i, counts := range []map[string]int{
		// Members (Query), presence (BatchGetItem), the 9 recipients'
		// block entries (BatchGetItem), a post per online connection
		// but the sender's and the blocker's.
		{"DynamoDB.Query": 1, "DynamoDB.BatchGetItem": 2, "ApiGatewayManagementApi.PostToConnection": 2},
		// Within BlockTTL: the answers are cached.
		{"DynamoDB.Query": 1, "DynamoDB.BatchGetItem": 1, "ApiGatewayManagementApi.PostToConnection": 2},
	} {
		c.Reset()
		ev := w.messageEvent(t, u[0], chat.SendInput{ToGroup: g.GroupID, Text: "hi"})
		n.Notify(realtime.WithOrigin(ctx, conns[0]), ev)
		s := c.Snapshot()
		t.Logf("send %d: %v, %.1f RCU", i+1, s.Requests, s.ReadUnits)
		want(t, c, counts)
		if frames(w, conns[3], "message.created", ev.Seq) != 0 {
			t.Fatal("the blocker got the push")
		}
	}
	// Through the fan-out queue (InlineMax 4): the chunk job reads the
	// presence of its members and their block entries, one BatchGetItem
	// each (a chunk is 50 members).
	q := &memQueue{}
	n = realtime.NewNotifier(conns2, w.gw.Pusher(acfg), q, realtime.Config{InlineMax: 4}, discard)
	n.SetBlocks(w.blocks(acfg))
	ev := w.messageEvent(t, u[0], chat.SendInput{ToGroup: g.GroupID, Text: "queued"})
	n.Notify(realtime.WithOrigin(ctx, conns[0]), ev)
	for _, kind := range []string{realtime.JobPlan, realtime.JobChunk} {
		if len(q.jobs) != 1 || q.jobs[0].Kind != kind {
			t.Fatalf("jobs %+v, want one %s", q.jobs, kind)
		}
		j := q.jobs[0]
		q.jobs = nil
		c.Reset()
		if err := n.Process(ctx, j); err != nil {
			t.Fatal(err)
		}
		if kind == realtime.JobChunk {
			s := c.Snapshot()
			t.Logf("chunk of 10: %v, %.1f RCU", s.Requests, s.ReadUnits)
			want(t, c, map[string]int{"DynamoDB.BatchGetItem": 2, "ApiGatewayManagementApi.PostToConnection": 2})
		}
	}
	if frames(w, conns[3], "message.created", ev.Seq) != 0 || frames(w, conns[1], "message.created", ev.Seq) != 1 {
		t.Fatal("the chunk pushed to the blocker, or missed a member")
	}
}
