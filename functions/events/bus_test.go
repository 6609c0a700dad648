package main

// End to end against the emulator: sends stored by the chat service, read
// back from the messages table's stream by the local stack's event source
// mapping (infra/local, the template's own EventsFunction.Messages source
// with its filters), turned into events by this handler, put on an
// EventBridge bus, and read from an SQS queue a rule on that bus targets
// (the emulator cannot list what a bus received).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	ebus "github.com/tokenim/tokenim/shared/aws/eventbridge"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/chat"
	tevents "github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
	"github.com/tokenim/tokenim/shared/webhooks"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// redelivering invokes the handler in process and fails the odd
// invocations up to last after the handler has published (a sandbox that
// died before answering): the mapping delivers those records again.
type redelivering struct {
	h        lambda.Handler
	last     int64 // the last invocation that may be failed
	calls    atomic.Int64
	injected atomic.Int64
}

func (r *redelivering) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := r.h.Invoke(ctx, payload)
	if n := r.calls.Add(1); err == nil && n%2 == 1 && n <= r.last {
		r.injected.Add(1)
		return nil, fmt.Errorf("injected: the sandbox died after publishing")
	}
	return out, err
}

// busQueue makes a bus and a FIFO queue that receives its
// message.created events through a rule (one message group: the queue
// keeps the order the bus delivered them in).
func busQueue(t *testing.T, ctx context.Context, cfg aws.Config) (bus, queueURL string) {
	t.Helper()
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	bus = testenv.ID("bus")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &bus}); err != nil {
		t.Fatal(err)
	}
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.ID("evq") + ".fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qo.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	rule := testenv.ID("created")
	// docs/events.md's example rule.
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &rule, EventBusName: &bus,
		EventPattern: aws.String(`{"source": ["tokenim"], "detail-type": ["message.created"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &rule, EventBusName: &bus,
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"]),
			SqsParameters: &ebtypes.SqsParameters{MessageGroupId: aws.String("all")}}}}); err != nil {
		t.Fatal(err)
	}
	return bus, *qo.QueueUrl
}

// TestMessagesReachTheBusAndWebhookOnceInOrder is the test:
// messages across 10 conversations (200 in make test, 1,000 under make
// test-events: see messagesPerConversation), read from the messages
// table's stream by the template's own source, with stream invocations
// failed after they published and routed (redeliveries). On the bus:
// one message.created per message (by id), its data the message's, and
// per conversation the first copy of each in seq order. At a webhook
// receiver on 127.0.0.1, through the template's WebhookEventQueue (FIFO)
// and the worker's handler driven by the local stack's SQS trigger from
// the template's source: each message once (by webhook-id) and per
// conversation in seq order, although the receiver fails the first
// attempt of some events (retried on a schedule of seconds, holding
// back only their conversation) and the signature verifies with the
// Python standardwebhooks package.
func TestMessagesReachTheBusAndWebhookOnceInOrder(t *testing.T) {
	testenv.NeedAWS(t)
	const convs = 10
	per := messagesPerConversation(t)
	env := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(60+4*convs*per)*time.Second)
	defer cancel()
	bus, queueURL := busQueue(t, ctx, env.Cfg)
	store := dynamo.NewWebhooks(dynamodb.NewFromConfig(env.Cfg), env.Res.Tables["WebhooksTable"])
	recv := newOrderedReceiver(t, 7)
	policy := webhooks.Policy{AllowLoopback: true}
	tasks := sqsqueue.New(sqs.NewFromConfig(env.Cfg), env.Res.QueueURLs["WebhookQueue"])
	ep, secret, err := webhooks.NewService(store, policy, tasks, nil).Create(ctx, webhooks.CreateInput{URL: recv.url, Types: []string{"message.created"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.DeleteEndpoint(context.Background(), ep.ID) })

	// The worker, as functions/webhookworker builds it, with a schedule
	// of seconds; the local stack's SQS trigger for its template source.
	sender := webhooks.NewSender(policy)
	worker := &webhooks.Worker{Store: store, Sender: sender, Tasks: tasks, Log: quiet, Schedule: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}}
	workerFn := lambda.NewHandler(lambdasqs.Handler(&queue.Runner{Name: "webhookworker", Log: quiet, Parallel: 10,
		Redeliver: sqsqueue.NewVisibility(sqs.NewFromConfig(env.Cfg)), Process: func(ctx context.Context, r queue.Record) error { return worker.Process(ctx, r.Body) }}))
	var trigger template.SQSSource
	for _, s := range env.Template.SQSSources() {
		if s.Function == "WebhookWorkerFunction" && s.Queue == "WebhookEventQueue" {
			trigger = s
		}
	}
	if trigger.Queue == "" {
		t.Fatal("no WebhookWorkerFunction source on WebhookEventQueue in the template")
	}
	sqsPoller := &local.SQSPoller{Source: trigger, QueueURL: env.Res.QueueURLs[trigger.Queue], QueueARN: env.Res.QueueARNs[trigger.Queue],
		Region: env.Cfg.Region, Client: sqs.NewFromConfig(env.Cfg), Fn: workerFn, Log: quiet, Wait: time.Second}

	src := eventsSource(t, env.Template, "Messages")
	route := &webhooks.Router{Store: store, Queue: sqsqueue.New(sqs.NewFromConfig(env.Cfg), env.Res.QueueURLs["WebhookEventQueue"])}
	// One failure in make test (each re-puts a batch), three at full size.
	inv := &redelivering{last: 1 + 4*int64(min(per/100, 1)), h: lambda.NewHandler(NewHandler(&tevents.Publisher{Bus: &ebus.Bus{API: eventbridge.NewFromConfig(env.Cfg), Name: bus}}, route, quiet).Handle)}
	poller, err := local.NewStreamPoller(local.StreamPoller{Source: src, StreamARN: env.Res.StreamARNs["MessagesTable"], FunctionARN: "events",
		Region: env.Cfg.Region, Client: dynamodbstreams.NewFromConfig(env.Cfg), Fn: inv, Log: quiet, Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	var polling sync.WaitGroup
	polling.Go(func() { poller.Run(pctx) })
	polling.Go(func() { sqsPoller.Run(pctx) })
	defer func() { stop(); polling.Wait() }()

	db := env.DB(env.Cfg)
	ids := testenv.NewUsers(t, users.NewService(db.Users, env.Cursors, nil), "ev", convs+1)
	svc := chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{Log: quiet})
	start := time.Now()
	var sends sync.WaitGroup
	errs := make(chan error, convs)
	for c := range convs {
		sends.Go(func() {
			for i := range per {
				if _, _, err := svc.Send(ctx, *testenv.User(ids[0]), chat.SendInput{ToUser: ids[c+1], Text: fmt.Sprintf("m%d", i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	sends.Wait()
	t.Logf("sent %d messages in %v", convs*per, time.Since(start))
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Bound: 2 s per message. Only a run that loses an event waits it
	// out; moto delivers a tapped event in 0.1-0.3 s alone and over 1 s
	// on a saturated 2-core machine.
	got := receiveCreated(t, ctx, env.Cfg, queueURL, convs*per, time.Duration(2*convs*per)*time.Second)
	t.Logf("bus: received %d events %v after the first send", len(got), time.Since(start))
	seen := map[string]bool{}
	next := map[string]int64{}
	dups := 0
	for _, e := range got {
		if seen[e.ID] {
			dups++
			continue
		}
		seen[e.ID] = true
		var d tevents.MessageData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Text != fmt.Sprintf("m%d", d.Seq-1) || d.SenderID != ids[0] {
			t.Fatalf("%s: seq %d text %q: not the message sent", d.ConversationID, d.Seq, d.Text)
		}
		// The first copy of each event, in the order the bus delivered
		// them: per conversation, seq order (a redelivered copy comes
		// after later events, and is a copy).
		if d.Seq != next[d.ConversationID]+1 {
			t.Fatalf("bus: %s: seq %d after %d: not in seq order", d.ConversationID, d.Seq, next[d.ConversationID])
		}
		next[d.ConversationID] = d.Seq
		if e.ID != tevents.ID(tevents.MessageCreated, d.ConversationID, fmt.Sprint(d.Seq)) {
			t.Fatalf("id %s is not the message's", e.ID)
		}
	}
	for conv, top := range next {
		if top != int64(per) {
			t.Errorf("bus: %s: highest seq %d, want %d", conv, top, per)
		}
	}
	if len(seen) != convs*per || len(next) != convs {
		t.Fatalf("bus: %d distinct message.created events in %d conversations, want %d in %d", len(seen), len(next), convs*per, convs)
	}
	if inv.injected.Load() == 0 || dups == 0 {
		t.Fatalf("injected %d failures, %d redelivered events: the redelivery path was not exercised", inv.injected.Load(), dups)
	}
	t.Logf("bus: %d messages: %d distinct events, %d redelivered copies (same ids) from %d injected failures of %d invocations",
		convs*per, len(seen), dups, inv.injected.Load(), inv.calls.Load())

	// The webhook receiver, checked as it received (recv.check).
	deadline := time.Now().Add(time.Duration(convs*per) * 100 * time.Millisecond)
	for recv.count() < convs*per && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a late duplicate would arrive by now
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.bad != "" {
		t.Fatal("webhook: " + recv.bad)
	}
	if len(recv.next) != convs || recv.delivered != convs*per {
		t.Fatalf("webhook: %d distinct events delivered in %d conversations, want %d in %d (%d requests)", recv.delivered, len(recv.next), convs*per, convs, recv.requests)
	}
	if recv.refused == 0 {
		t.Fatal("webhook: no attempt failed: the retry path was not exercised")
	}
	t.Logf("webhook: %d events delivered once each in seq order per conversation, %d requests (%d answered 503), %v after the first send",
		recv.delivered, recv.requests, recv.refused, recv.last.Sub(start))
	webhookstest.Verify(t, secret, recv.sample.Body, recv.sample.Header)
}

// orderedReceiver is a webhook receiver on 127.0.0.1 that answers 503
// to the first attempt of every failEvery-th message of each conversation and
// 200 otherwise, and checks as it goes that what it accepts is, per
// conversation, the next seq, each event once (webhook-id).
type orderedReceiver struct {
	url       string
	failEvery int64

	mu                           sync.Mutex
	next                         map[string]int64 // conversation -> last seq accepted
	tried                        map[string]bool  // webhook-id -> refused once
	accepted                     map[string]bool
	delivered, requests, refused int
	bad                          string
	last                         time.Time
	sample                       webhookstest.Request
}

func newOrderedReceiver(t *testing.T, failEvery int64) *orderedReceiver {
	r := &orderedReceiver{failEvery: failEvery, next: map[string]int64{}, tried: map[string]bool{}, accepted: map[string]bool{}}
	srv := httptest.NewServer(r) // 127.0.0.1
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

func (r *orderedReceiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.delivered }

func (r *orderedReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var e tevents.Event
	var d tevents.MessageData
	_ = json.Unmarshal(b, &e)
	_ = json.Unmarshal(e.Data, &d)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if d.Seq%r.failEvery == 0 && !r.tried[id] {
		r.tried[id] = true
		r.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	switch {
	case r.accepted[id]:
		// A duplicate: receivers drop it by webhook-id (at least once).
	case d.Seq != r.next[d.ConversationID]+1 && r.bad == "":
		r.bad = fmt.Sprintf("%s: seq %d after %d: not in seq order", d.ConversationID, d.Seq, r.next[d.ConversationID])
	default:
		r.accepted[id] = true
		r.next[d.ConversationID] = d.Seq
		r.delivered++
		r.last = time.Now()
		r.sample = webhookstest.Request{Header: req.Header.Clone(), Body: b, Status: http.StatusOK}
	}
	w.WriteHeader(http.StatusOK)
}

// eventsSource is the template's EventsFunction stream source by event name.
func eventsSource(t *testing.T, tmpl *template.Template, name string) template.DynamoDBSource {
	t.Helper()
	srcs, err := tmpl.DynamoDBSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		if s.Function == "EventsFunction" && s.Event == name {
			return s
		}
	}
	t.Fatalf("no EventsFunction.%s stream source in the template", name)
	return template.DynamoDBSource{}
}

// receiveCreated reads the queue until want distinct events arrived and
// the queue stays empty for a few polls (late redeliveries), or until
// limit.
func receiveCreated(t *testing.T, ctx context.Context, cfg aws.Config, url string, want int, limit time.Duration) []tevents.Event {
	t.Helper()
	q := sqs.NewFromConfig(cfg)
	var out []tevents.Event
	distinct := map[string]bool{}
	deadline := time.Now().Add(limit)
	empty := 0
	for time.Now().Before(deadline) && (len(distinct) < want || empty < 3) {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range r.Messages {
			var env struct {
				Source     string        `json:"source"`
				DetailType string        `json:"detail-type"`
				Detail     tevents.Event `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				t.Fatalf("body %s: %v", aws.ToString(m.Body), err)
			}
			if env.Source != tevents.Source || env.DetailType != string(tevents.MessageCreated) || env.Detail.Type != tevents.MessageCreated {
				t.Fatalf("event %s/%s: want tokenim/message.created", env.Source, env.DetailType)
			}
			out = append(out, env.Detail)
			distinct[env.Detail.ID] = true
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// messagesPerConversation is TOKENIM_EVENTS_MESSAGES / 10 (make
// test-events sets 1000), 20 by default.
func messagesPerConversation(t *testing.T) int {
	t.Helper()
	v := os.Getenv("TOKENIM_EVENTS_MESSAGES")
	if v == "" {
		return 20
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 || n > 100000 {
		t.Fatalf("TOKENIM_EVENTS_MESSAGES=%q: want a number from 10 to 100000", v)
	}
	return n / 10
}
