package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/batch/batchtest"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/realtime/realtimetest"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

var discard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// invocation is one Lambda invocation an operation caused.
type invocation struct {
	function string // template logical id
	ms       float64
}

// opRun is what one run of a scenario did besides its AWS requests (which
// the meter bills): the invocations, and the requests API Gateway bills
// that no SDK call makes (frames the client sent, REST requests).
type opRun struct {
	invocations []invocation
	wsIn        int // inbound WebSocket messages, billed
	rest        int
	ops         int // operations this run covers (users for an import)
	idlePolls   int // empty ReceiveMessage polls of idle workers, not charged to the operation
}

func (r *opRun) invoke(fn string, start time.Time) {
	r.invocations = append(r.invocations, invocation{fn, float64(time.Since(start).Microseconds()) / 1000})
}

// scenario is one operation of the cost model.
type scenario struct {
	name, how string
	run       func(t *testing.T, cfg aws.Config, i int) opRun
}

// costWorld holds the services of one cost run, built over a config: the
// metered one for counting, the plain one for timing.
type costWorld struct {
	env *testenv.Env
	gw  *realtimetest.Gateway
	log *slog.Logger
}

func newCostWorld(t *testing.T, env *testenv.Env) *costWorld {
	return &costWorld{env: env, gw: realtimetest.New(t), log: discard}
}

func (w *costWorld) notifier(cfg aws.Config) *realtime.Notifier {
	q := realtime.NewJobQueue(sqsqueue.New(sqs.NewFromConfig(cfg), w.env.Res.QueueURLs["FanoutQueue"]))
	return realtime.NewNotifier(w.env.DB(cfg).Connections, w.gw.Pusher(cfg), q, realtime.Config{}, w.log)
}

func (w *costWorld) chat(cfg aws.Config) *chat.Service {
	return chat.NewService(w.env.DB(cfg).Chat, w.env.Cursors, chat.Config{MaxGroupMembers: 10000}, chat.Options{Notifier: w.notifier(cfg)})
}

// online opens a connection for user (stored and open at the gateway).
func (w *costWorld) online(t *testing.T, user string) string {
	t.Helper()
	conn := testenv.ID("c") + "="
	if err := w.env.DB(w.env.Cfg).Connections.PutConnection(context.Background(), realtime.NewConnection(user, conn, time.Now())); err != nil {
		t.Fatal(err)
	}
	w.gw.Open(conn)
	return conn
}

// wsSend is the websocket function's send action (functions/websocket):
// chat.Send with the push, then the ack posted to the sender's connection.
func (w *costWorld) wsSend(t *testing.T, cfg aws.Config, p auth.Principal, conn string, in chat.SendInput) opRun {
	t.Helper()
	frame, _ := json.Marshal(map[string]any{"action": "send", "request_id": "r1", "to_user": in.ToUser, "to_group": in.ToGroup,
		"client_msg_id": in.ClientMsgID, "text": in.Text})
	r := opRun{wsIn: testenv.WebSocketMessages(len(frame)), ops: 1}
	ctx := realtime.WithOrigin(context.Background(), conn)
	start := time.Now()
	m, created, err := w.chat(cfg).Send(ctx, p, in)
	if err != nil {
		t.Fatal(err)
	}
	ack := realtime.Frame{Type: "ack", Action: "send", RequestID: "r1", Result: map[string]any{"message": m, "created": created}}
	if err := realtime.Send(ctx, w.gw.Pusher(cfg), conn, ack); err != nil {
		t.Fatal(err)
	}
	r.invoke("WebSocketFunction", start)
	return r
}

// drainFanout runs the fan-out function the way its SQS event source does:
// receive up to 10 jobs, one invocation per batch, delete them in a batch.
func (w *costWorld) drainFanout(t *testing.T, cfg aws.Config, r *opRun) {
	t.Helper()
	ctx := context.Background()
	client := sqs.NewFromConfig(cfg)
	url := w.env.Res.QueueURLs["FanoutQueue"]
	n := w.notifier(cfg)
	for range 500 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			r.idlePolls++ // the event source's poll that finds the queue empty: not this message's
			return
		}
		start := time.Now()
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, msg := range out.Messages {
			var j realtime.Job
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &j); err != nil {
				t.Fatal(err)
			}
			if err := n.Process(ctx, j); err != nil {
				t.Fatal(err)
			}
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: msg.ReceiptHandle})
		}
		r.invoke("FanoutFunction", start)
		if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del}); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("fan-out queue did not drain")
}

// authorize is the REST authorizer's work for one request (no caching:
// the template sets ReauthorizeEvery: 0).
func (w *costWorld) authorize(t *testing.T, cfg aws.Config, token string, r *opRun) {
	t.Helper()
	db := w.env.DB(cfg)
	start := time.Now()
	if _, err := auth.NewService(w.env.Tokens, db.Credentials, db.Users).Authenticate(context.Background(), "Bearer "+token); err != nil {
		t.Fatal(err)
	}
	r.invoke("AuthorizerFunction", start)
}

func uniq(prefix string, i int) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), i)
}

const typicalText = "hello, this is a typical short chat message"

// costScenarios builds the scenes (users, groups, connections) uncounted
// and returns the operations of the cost model. importRows is the size of
// the import measured, bigGroup the size of the group pushed to through
// the fan-out queue (1,000; bench-quick uses a smaller one).
func costScenarios(t *testing.T, env *testenv.Env, importRows, bigGroup int) []scenario {
	t.Helper()
	ctx := context.Background()
	w := newCostWorld(t, env)
	plain := env.DB(env.Cfg)
	usvc := users.NewService(plain.Users, env.Cursors, nil)
	ids := bulkUsers(t, env, "cost", bigGroup+2)
	alice, bob := ids[0], ids[1]
	aliceConn := w.online(t, alice)
	w.online(t, bob)
	w.online(t, bob) // two devices
	setup := chat.NewService(plain.Chat, env.Cursors, chat.Config{MaxGroupMembers: 10000}, chat.Options{})
	if _, _, err := setup.Send(ctx, *testenv.User(alice), chat.SendInput{ToUser: bob, Text: "first"}); err != nil { // creates the DM
		t.Fatal(err)
	}
	groups := map[int]string{}
	for _, n := range []int{10, 50, 100, bigGroup} {
		members := ids[2 : 2+n-1] // the sender plus n-1 others
		g, _, err := setup.CreateGroup(ctx, *testenv.User(alice), chat.CreateGroupInput{Name: fmt.Sprint("g", n), Members: members})
		if err != nil {
			t.Fatal(err)
		}
		groups[n] = g.GroupID
	}
	for i, id := range ids[2 : bigGroup+1] { // half of every group online (the sender is)
		if i%2 == 1 {
			w.online(t, id)
		}
	}
	// The offline user: 10 conversations (DMs) each with a new message
	// since the state the client has.
	carol := ids[bigGroup+1]
	since := map[string]int64{}
	for _, peer := range ids[2:12] {
		m, _, err := setup.Send(ctx, *testenv.User(peer), chat.SendInput{ToUser: carol, Text: "before"})
		if err != nil {
			t.Fatal(err)
		}
		since[string(m.ConversationID)] = m.Seq
		if _, _, err := setup.Send(ctx, *testenv.User(peer), chat.SendInput{ToUser: carol, Text: typicalText}); err != nil {
			t.Fatal(err)
		}
	}
	carolConn := w.online(t, carol)
	aliceUser, err := usvc.Get(ctx, *testenv.Admin(), alice)
	if err != nil {
		t.Fatal(err)
	}
	aliceToken, err := env.Tokens.IssueUser(alice, aliceUser.Gen, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cred, _, err := auth.NewCredential("bench", time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Credentials.PutCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	adminToken, err := env.Tokens.IssueAdmin(cred.KeyID)
	if err != nil {
		t.Fatal(err)
	}

	groupSend := func(n int) scenario {
		return scenario{name: fmt.Sprintf("group message, %d members, half online (WebSocket)", n),
			how: fmt.Sprintf("websocket send action + push to %d online members' connections%s", n/2-1, map[bool]string{true: " through FanoutQueue and the fan-out function", false: " inline"}[n > 100]),
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				r := w.wsSend(t, cfg, *testenv.User(alice), aliceConn, chat.SendInput{ToGroup: groups[n], ClientMsgID: uniq("g", i), Text: typicalText})
				if n > realtime.DefaultInlineMax {
					w.drainFanout(t, cfg, &r)
				}
				return r
			}}
	}
	return []scenario{
		{name: "DM over WebSocket, acked, recipient online with 2 devices",
			how: "1 frame in, chat.Send + push (functions/websocket send action), ack + 2 deliveries posted",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				return w.wsSend(t, cfg, *testenv.User(alice), aliceConn, chat.SendInput{ToUser: bob, ClientMsgID: uniq("dm", i), Text: typicalText})
			}},
		{name: "DM over WebSocket without client_msg_id, recipient online with 2 devices",
			how: "as above, no client_msg_id: no claim item (and no exactly-once on retries)",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				return w.wsSend(t, cfg, *testenv.User(alice), aliceConn, chat.SendInput{ToUser: bob, Text: typicalText})
			}},
		{name: "DM over REST, recipient online with 2 devices",
			how: "1 REST request: authorizer (user token: user generation read) + messages function chat.Send + 2 deliveries",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				r := opRun{rest: 1, ops: 1}
				w.authorize(t, cfg, aliceToken.Token, &r)
				start := time.Now()
				if _, _, err := w.chat(cfg).Send(context.Background(), *testenv.User(alice), chat.SendInput{ToUser: bob, ClientMsgID: uniq("rest", i), Text: typicalText}); err != nil {
					t.Fatal(err)
				}
				r.invoke("MessagesFunction", start)
				return r
			}},
		groupSend(10), groupSend(50), groupSend(100), groupSend(bigGroup),
		{name: "user created by the single-user route (POST /v1/users)",
			how: "1 REST request: authorizer (admin token: credential read) + users function users.Create",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				r := opRun{rest: 1, ops: 1}
				w.authorize(t, cfg, adminToken.Token, &r)
				start := time.Now()
				if _, _, err := users.NewService(env.DB(cfg).Users, env.Cursors, nil).Create(context.Background(), *testenv.Admin(),
					users.CreateInput{UserID: uniq("single", i), Profile: users.Profile{Nickname: "Student"}}, ""); err != nil {
					t.Fatal(err)
				}
				r.invoke("UsersFunction", start)
				return r
			}},
		{name: fmt.Sprintf("user created by batch import (%d-row CSV, per user)", importRows),
			how: "1 REST request (authorizer + jobs function submit), BatchQueue, batch worker as its event source drives it (batches of 10); idle polls excluded",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				return w.importUsers(t, cfg, adminToken.Token, importRows)
			}},
		{name: "sync after being offline, 10 conversations changed (WebSocket)",
			how: "1 sync frame in, chat.Sync (functions/websocket sync action), reply posted",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				frame, _ := json.Marshal(map[string]any{"action": "sync", "since": since})
				r := opRun{wsIn: testenv.WebSocketMessages(len(frame)), ops: 1}
				start := time.Now()
				page, err := w.chat(cfg).Sync(context.Background(), *testenv.User(carol), chat.SyncInput{Since: since, Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Messages) != 10 {
					t.Fatalf("sync returned %d messages, want 10", len(page.Messages))
				}
				if err := realtime.Send(context.Background(), w.gw.Pusher(cfg), carolConn, realtime.Frame{Type: "ack", Action: "sync", Result: page}); err != nil {
					t.Fatal(err)
				}
				r.invoke("WebSocketFunction", start)
				return r
			}},
		{name: "connect and disconnect (WebSocket)",
			how: "$connect: authorizer (user token) + websocket function storing the connection; $disconnect: websocket function removing it",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				r := opRun{ops: 1}
				w.authorize(t, cfg, aliceToken.Token, &r)
				conns := env.DB(cfg).Connections
				conn := uniq("conn", i)
				start := time.Now()
				if err := conns.PutConnection(context.Background(), realtime.NewConnection(alice, conn, time.Now())); err != nil {
					t.Fatal(err)
				}
				r.invoke("WebSocketFunction", start)
				start = time.Now()
				if err := conns.DeleteConnection(context.Background(), alice, conn, time.Now()); err != nil {
					t.Fatal(err)
				}
				r.invoke("WebSocketFunction", start)
				return r
			}},
		{name: "sign-up (Cognito post-confirmation trigger)",
			how: "cognitosignup function: signup.Confirmed creates the user at once (Cognito's own price not included)",
			run: func(t *testing.T, cfg aws.Config, i int) opRun {
				r := opRun{ops: 1}
				q := signup.SenderQueue{Sender: sqsqueue.New(sqs.NewFromConfig(cfg), env.Res.QueueURLs["SignupQueue"])}
				svc := signup.NewService(users.NewService(env.DB(cfg).Users, nil, nil), q, discard, signup.Options{})
				start := time.Now()
				out := svc.Confirmed(context.Background(), signup.Confirmation{TriggerSource: "PostConfirmation_ConfirmSignUp",
					Attributes: map[string]string{"sub": uniq("sub", i), "name": "Carol"}})
				r.invoke("CognitoSignupFunction", start)
				if !strings.Contains(fmt.Sprintf("%+v", out), "reated") {
					t.Logf("sign-up outcome %+v", out)
				}
				return r
			}},
	}
}

// importUsers submits a CSV of n users and runs the batch worker until the
// job is finished.
func (w *costWorld) importUsers(t *testing.T, cfg aws.Config, adminToken string, n int) opRun {
	t.Helper()
	ctx := context.Background()
	r := opRun{rest: 1, ops: n}
	w.authorize(t, cfg, adminToken, &r)
	db := w.env.DB(cfg)
	client := sqs.NewFromConfig(cfg)
	proc := batch.NewProcessor(db.Jobs, w.log, batch.ProcessorOptions{})
	svc := batch.NewService(db.Jobs, sqsqueue.New(client, w.env.Res.QueueURLs["BatchQueue"]), proc, w.env.Cursors,
		batch.Config{MaxActiveJobs: 1000, MaxRowsPerDay: 1_000_000_000}, w.log)
	var body strings.Builder
	body.WriteString("user_id,nickname\n")
	prefix := uniq("imp", 0)
	for i := range n {
		fmt.Fprintf(&body, "%s-%06d,Student %d\n", prefix, i, i)
	}
	start := time.Now()
	sub, err := svc.SubmitUsers(ctx, *testenv.Admin(), batch.SubmitInput{ContentType: "text/csv", Body: []byte(body.String())})
	if err != nil {
		t.Fatal(err)
	}
	r.invoke("JobsFunction", start)
	poller := &batchtest.Poller{SQS: client, QueueURL: w.env.Res.QueueURLs["BatchQueue"], QueueARN: w.env.Res.QueueARNs["BatchQueue"],
		Sandbox: func() any {
			p := batch.NewProcessor(db.Jobs, w.log, batch.ProcessorOptions{})
			return lambdasqs.Handler(&queue.Runner{Log: w.log, Parallel: 10, Process: func(ctx context.Context, rec queue.Record) error { return p.HandleMessage(ctx, rec.Body) }})
		}, Visibility: 120}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	workers := 4
	wstart := time.Now()
	if err := poller.Run(rctx, workers, func() bool { j, err := db.Jobs.GetJob(rctx, sub.JobID); return err == nil && j.Finished() }); err != nil {
		t.Fatal(err)
	}
	// Each worker invocation's duration: the workers' busy time shared out
	// (they ran side by side).
	inv := int(poller.Invocations.Load())
	per := float64(time.Since(wstart).Microseconds()) / 1000 * float64(workers) / float64(max(inv, 1))
	for range inv {
		r.invocations = append(r.invocations, invocation{"BatchWorkerFunction", per})
	}
	_, idle := poller.Polls()
	r.idlePolls = int(idle)
	return r
}

// fastest of xs: on a machine shared with other work, the run least
// slowed by it.
func fastest(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[0]
}

// bulkUsers writes n users with BatchWriteItem (set-up only: the users
// service would take the emulator a minute).
func bulkUsers(t *testing.T, env *testenv.Env, prefix string, n int) []string {
	t.Helper()
	base := testenv.ID(prefix)
	ids := make([]string, n)
	items := make([]map[string]types.AttributeValue, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", base, i)
		item, err := dynamo.UserItem(users.New(users.CreateInput{UserID: ids[i]}, time.Now()), "")
		if err != nil {
			t.Fatal(err)
		}
		items[i] = item
	}
	batchPut(t, env.DB(env.Cfg).Client(), env.Tables.Users, items)
	return ids
}

// batchPut writes items to table, 25 a request, 8 requests at a time.
func batchPut(t *testing.T, client *dynamodb.Client, table string, items []map[string]types.AttributeValue) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for start := 0; start < len(items); start += 25 {
		var reqs []types.WriteRequest
		for _, it := range items[start:min(start+25, len(items))] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			pending := map[string][]types.WriteRequest{table: reqs}
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt == 10 {
					t.Error("unprocessed items")
					return
				}
				out, err := client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
				if err != nil {
					t.Error(err)
					return
				}
				pending = out.UnprocessedItems
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}
