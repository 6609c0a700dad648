package push_test

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sns"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestPushCost pins the worker's AWS requests for one offline recipient
// with two FCM devices (SNS over the emulator), once their endpoints
// exist, and logs the dollars per pushed message (docs/push.md, "Cost").
func TestPushCost(t *testing.T) {
	testenv.NeedAWS(t)
	w := newWorld(t)
	u := w.newUsers(t, "cost", 2)
	a, b := u[0], u[1]
	w.device(t, b, "pixel", push.FCM)
	w.device(t, b, "tablet", push.FCM)
	cfg, c := w.env.Counted()
	client := awssns.NewFromConfig(cfg)
	app, err := client.CreatePlatformApplication(ctx, &awssns.CreatePlatformApplicationInput{Name: aws.String(testenv.ID("fcm")), Platform: aws.String("GCM"),
		Attributes: map[string]string{"PlatformCredential": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.NewPush(dynamodb.NewFromConfig(cfg), w.env.Tables)
	unread := push.ChatUnread{Chat: chat.NewService(w.env.DB(cfg).Chat, w.env.Cursors, chat.Config{}, chat.Options{})}
	worker := push.NewDeliverer(store, store, unread, map[push.Platform]push.Sender{push.FCM: sns.New(client, map[push.Platform]string{push.FCM: aws.ToString(app.PlatformApplicationArn)})}, discard, nil)
	run := func(text string) push.Outcome {
		t.Helper()
		m := w.send(t, a, b, text)
		j := push.Job{Kind: push.JobMessage, ConversationID: string(m.ConversationID), Seq: m.Seq, MessageID: m.MessageID, Sender: a, Text: text, Users: []string{b}}
		c.Reset()
		out, err := worker.Process(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := run("first"); out.Pushed != 2 { // creates both endpoints
		t.Fatalf("first push %+v", out)
	}
	first := c.Snapshot()
	if out := run("second"); out.Pushed != 2 {
		t.Fatalf("second push %+v", out)
	}
	s := c.Snapshot()
	// Per recipient: a Query of the devices, one BatchGetItem of the
	// preferences, the conversation list for the badge (a Query of the
	// entries, a BatchGetItem of the heads, one of the DM peers' entries);
	// per device: the claim and the publish.
	wantReq := map[string]int{"DynamoDB.Query": 2, "DynamoDB.BatchGetItem": 3, "DynamoDB.PutItem": 2, "SNS.Publish": 2}
	if !maps.Equal(s.Requests, wantReq) {
		t.Errorf("requests %v, want %v", s.Requests, wantReq)
	}
	created := first.Requests["SNS.CreatePlatformEndpoint"] + first.Requests["SNS.SetEndpointAttributes"] + first.Requests["DynamoDB.UpdateItem"]
	u1 := testenv.Usage{ReadUnits: s.ReadUnits, WriteUnits: s.WriteUnits, SNSNotifications: s.Requests["SNS.Publish"]}
	b2, _ := json.Marshal(s.Requests)
	t.Logf("one message to an offline recipient with 2 devices: %s, %.1f RCU, %.1f WCU: $%.2f per million (+ $%.2f per million SQS requests of the job); a device's first push adds %d requests (endpoint)",
		b2, s.ReadUnits, s.WriteUnits, u1.PerMillion(), testenv.Usage{SQSRequests: 1}.PerMillion(), created)
}

// TestBroadcastCost pins one broadcast chunk's AWS requests (docs/push.md,
// "Broadcasts"): 50 users, 10 online, 20 offline with one device (pushes
// recorded, not sent: SNS adds one Publish each), 20 with none; and logs
// the dollars per recipient of each kind.
func TestBroadcastCost(t *testing.T) {
	testenv.NeedAWS(t)
	w := newWorld(t)
	ids := w.newUsers(t, "bcost", 50)
	for i, u := range ids {
		switch {
		case i < 10:
			conn := testenv.ID("c")
			if err := w.env.Stores().Connections.PutConnection(ctx, realtime.NewConnection(u, conn, time.Now().Add(-time.Minute))); err != nil {
				t.Fatal(err)
			}
			w.gw.Open(conn)
		case i < 30:
			w.device(t, u, "phone", push.FCM)
		}
	}
	cfg, c := w.env.Counted()
	db := w.env.DB(cfg)
	store := dynamo.NewPush(dynamodb.NewFromConfig(cfg), w.env.Tables)
	unread := push.ChatUnread{Chat: chat.NewService(db.Chat, w.env.Cursors, chat.Config{}, chat.Options{})}
	deliverer := push.NewDeliverer(store, store, unread, map[push.Platform]push.Sender{push.FCM: w.rec}, discard, nil)
	live := realtime.NewNotifier(db.Connections, w.gw.Pusher(w.env.Cfg), nil, realtime.Config{Timeout: 30 * time.Second}, discard)
	b := push.NewBroadcaster(store, w.env.Queue("PushQueue"), push.StoreAudience{Members: db.Connections, Users: db.Users}, live, deliverer, push.BroadcastConfig{}, discard)
	bc := push.Broadcast{ID: push.NewBroadcastID(time.Now()), Title: "Maintenance", Body: "Tonight at 22:00 UTC", Audience: push.Audience{UserIDs: ids}, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, _, err := store.CreateBroadcast(ctx, bc, "", ""); err != nil {
		t.Fatal(err)
	}
	c.Reset()
	if _, err := b.Process(ctx, push.Job{Kind: push.JobBroadcastChunk, BroadcastID: bc.ID, Chunk: "0-0", Users: ids}); err != nil {
		t.Fatal(err)
	}
	s := c.Snapshot()
	got, _ := store.GetBroadcast(ctx, bc.ID)
	if want := (push.Counts{Targeted: 50, DeliveredLive: 10, Pushed: 20, NoDevice: 20}); got.Counts != want {
		t.Fatalf("counts %+v, want %+v", got.Counts, want)
	}
	// Per chunk: the job's GetItem, one presence BatchGetItem, the counts'
	// transaction. Per user: the notification (PutItem) and its outcome
	// (UpdateItem). Per offline user: a Query of the devices; with a
	// device also one BatchGetItem of the settings, the badge's Query of
	// the conversation list (these users have none) and one claim
	// (PutItem), and, as these are the devices' first pushes, the
	// endpoint's UpdateItem.
	wantReq := map[string]int{"DynamoDB.GetItem": 1, "DynamoDB.BatchGetItem": 1 + 20, "DynamoDB.TransactWriteItems": 1,
		"DynamoDB.PutItem": 50 + 20, "DynamoDB.UpdateItem": 50 + 20, "DynamoDB.Query": 40 + 20}
	if !maps.Equal(s.Requests, wantReq) {
		t.Errorf("requests %v, want %v", s.Requests, wantReq)
	}
	b2, _ := json.Marshal(s.Requests)
	u := testenv.Usage{ReadUnits: s.ReadUnits, WriteUnits: s.WriteUnits, WebSocketMessages: 10, SNSNotifications: 20, SQSRequests: 1}
	t.Logf("one chunk of 50 (10 live, 20 pushed, 20 no device): %s, %.1f RCU, %.1f WCU; with 10 WebSocket messages, 20 SNS publishes and the job's SQS request: $%.2f per million chunks, $%.2f per million recipients on average",
		b2, s.ReadUnits, s.WriteUnits, u.PerMillion(), u.PerMillion()/50)
}
