package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	tevents "github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/webhooks"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

// TestCostPerDelivery counts, with the SDK's request-counting
// middleware, what the worker's own calls cost per delivery of an event
// from WebhookEventQueue on the emulator's WebhooksTable: a
// first-attempt success, and one retry (a 503, then 200: the message
// comes back after the wait, no task is queued). docs/events.md prices
// them, adding what the counter cannot see: the events function's send
// to the FIFO queue, Lambda's receive, delete and visibility change, and
// the invocation. No bus entry: the bus is paid for its own consumers.
func TestCostPerDelivery(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	cfg, c := env.Counted()
	store := dynamo.NewWebhooks(dynamodb.NewFromConfig(cfg), env.Res.Tables["WebhooksTable"])
	tasks := sqsqueue.New(sqs.NewFromConfig(cfg), env.Res.QueueURLs["WebhookQueue"])
	p := webhooks.Policy{AllowLoopback: true}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	recv := webhookstest.NewReceiver(t, http.StatusServiceUnavailable)
	// One endpoint in the package's endpoints partition while it runs.
	e, _, err := webhooks.NewService(store, p, tasks, nil).Create(ctx, webhooks.CreateInput{URL: recv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.DeleteEndpoint(ctx, e.ID) })
	w := &webhooks.Worker{Store: store, Sender: webhooks.NewSender(p), Tasks: tasks, Log: log, Schedule: []time.Duration{0}}
	now := time.Now()
	epID := e.ID

	msg := func(ev tevents.Event) string {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return webhooks.EventBody(epID, b)
	}
	c.Reset()
	retried := msg(webhookstest.Event(t, "cost", 1, now))
	if _, later := queue.IsRetryAfter(w.Process(ctx, retried)); !later { // 503: the message waits
		t.Fatal("a 503 did not hold the message back")
	}
	if err := w.Process(ctx, retried); err != nil { // 200
		t.Fatal(err)
	}
	retry := c.Snapshot()
	c.Reset()
	if err := w.Process(ctx, msg(webhookstest.Event(t, "cost", 2, now))); err != nil {
		t.Fatal(err)
	}
	first := c.Snapshot()

	for _, tc := range []struct {
		name string
		s    interface{ Count(string) int }
		want map[string]int
	}{
		// The endpoint's read, the delivery's create, the attempt's write.
		{"first-attempt success", first, map[string]int{"DynamoDB.Query": 0, "DynamoDB.PutItem": 2, "DynamoDB.GetItem": 1, "SQS.SendMessage": 0}},
		// + the retry: the endpoint read again, the create that finds
		// the delivery (a refused conditional put), its read and the
		// attempt's write (the endpoint's streak is clean: no settle write).
		{"one retry", retry, map[string]int{"DynamoDB.Query": 0, "DynamoDB.PutItem": 4, "DynamoDB.GetItem": 3, "SQS.SendMessage": 0}},
	} {
		for op, n := range tc.want {
			if got := tc.s.Count(op); got != n {
				t.Errorf("%s: %d %s, want %d", tc.name, got, op, n)
			}
		}
	}
	t.Logf("first-attempt success: %v, %.1f RCU, %.1f WCU", first.Requests, first.ReadUnits, first.WriteUnits)
	t.Logf("one retry:             %v, %.1f RCU, %.1f WCU", retry.Requests, retry.ReadUnits, retry.WriteUnits)
	// The whole delivery, priced: the counted units, plus the events
	// function's SendMessageBatch entry, Lambda's ReceiveMessage and
	// DeleteMessageBatch on the FIFO queue (unbatched: the worst case),
	// one invocation of ~100 ms at 256 MB; batched, ten deliveries share
	// the three requests and the invocation.
	one := testenv.Usage{ReadUnits: first.ReadUnits, WriteUnits: first.WriteUnits, SQSFIFORequests: 3,
		LambdaInvocations: 1, LambdaGBSeconds: testenv.LambdaGBSeconds(100, 256)}
	ten := testenv.Usage{ReadUnits: 10 * first.ReadUnits, WriteUnits: 10 * first.WriteUnits, SQSFIFORequests: 3,
		LambdaInvocations: 1, LambdaGBSeconds: testenv.LambdaGBSeconds(300, 256)}
	again := testenv.Usage{ReadUnits: retry.ReadUnits - first.ReadUnits, WriteUnits: retry.WriteUnits - first.WriteUnits,
		SQSFIFORequests: 2, LambdaInvocations: 1, LambdaGBSeconds: testenv.LambdaGBSeconds(100, 256)} // visibility change, receive
	t.Logf("per delivery, first attempt: $%.2f per million unbatched, $%.2f in batches of 10; each retry + $%.2f per million",
		one.PerMillion(), ten.PerMillion()/10, again.PerMillion())
}
