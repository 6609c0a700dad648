package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/signup/signuptest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newWorker serves the worker over store (nil: the backend's users store).
func newWorker(t *testing.T, store users.Store) (any, *localtest.Log) {
	t.Helper()
	env := testenv.Get(t)
	if store == nil {
		store = env.Stores().Users
	}
	log := &localtest.Log{}
	l := logging.NewTo(log, "signupworker")
	svc := signup.NewService(users.NewService(store, nil, nil), nil, l, signup.Options{})
	return NewHandler(svc, l, nil), log
}

// fixtureEvent is events/sqs-signup.json with body as its one record.
func fixtureEvent(t *testing.T, body string) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	testenv.Fixture(t, "sqs-signup.json", &ev)
	ev.Records[0].Body = body
	return ev
}

func failures(t *testing.T, h any, ev events.SQSEvent) []string {
	t.Helper()
	var resp events.SQSEventResponse
	testenv.Invoke(t, h, ev, &resp)
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestQueuedSignupCompletes is the whole fallback path: DynamoDB fails in
// the trigger, the creation is queued, the worker creates the user from
// the queued message, and a second delivery of it changes nothing.
func TestQueuedSignupCompletes(t *testing.T) {
	env := testenv.Get(t)
	trigger := signup.NewService(users.NewService(signuptest.FailingStore(env.Stores().Users), nil, nil),
		signup.SenderQueue{Sender: env.Queue("SignupQueue")}, logging.NewTo(&localtest.Log{}, "cognitosignup"), signup.Options{})
	var ev events.CognitoEventUserPoolsPostConfirmation
	testenv.Fixture(t, "cognito-post-confirmation.json", &ev)
	sub := testenv.ID("sub")
	ev.Request.UserAttributes["sub"] = sub
	if got := trigger.Confirmed(context.Background(), signup.Confirmation{TriggerSource: ev.TriggerSource, UserPoolID: ev.UserPoolID, Attributes: ev.Request.UserAttributes}); got != signup.Queued {
		t.Fatalf("trigger outcome %s, want queued", got)
	}
	queued := signuptest.Receive(t, env, sub, 1, 10)
	if len(queued) != 1 {
		t.Fatalf("%d queued messages, want 1", len(queued))
	}
	m := queued[0].Message
	sqsEvent := events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: env.Res.QueueARNs["SignupQueue"]}}}

	h, log := newWorker(t, nil)
	for delivery := 1; delivery <= 2; delivery++ {
		if f := failures(t, h, sqsEvent); len(f) != 0 {
			t.Fatalf("delivery %d failed: %v\n%s", delivery, f, log)
		}
	}
	u, err := users.NewService(env.Stores().Users, nil, nil).Get(context.Background(), *testenv.Admin(), sub)
	if err != nil || u.Nickname != "Carol" || u.Source != signup.CognitoSource(ev.UserPoolID, sub) {
		t.Fatalf("user after the worker: %+v %v", u, err)
	}
	if log.Count(`"created":true`) != 1 || log.Count(`"created":false`) != 1 {
		t.Fatalf("want one create and one repeat:\n%s", log)
	}
}

func TestWorkerRetriesOnlyWhatCanSucceed(t *testing.T) {
	env := testenv.Get(t)
	taken := testenv.ID("taken")
	if _, _, err := users.NewService(env.Stores().Users, nil, nil).Create(context.Background(), *testenv.Admin(), users.CreateInput{UserID: taken}, ""); err != nil {
		t.Fatal(err)
	}
	body := func(id string) string {
		return `{"user_id":"` + id + `","source":"cognito:us-east-1_TokenIM01:` + id + `","queued_at":"2026-11-23T10:00:00Z"}`
	}
	// store is the worker's users store (nil: the backend's); aws rows
	// inject the fault through the AWS SDK and need the emulator.
	tests := []struct {
		name   string
		store  func() users.Store
		aws    bool
		body   string
		retry  bool
		metric bool
	}{
		{"store fails: retried", func() users.Store { return signuptest.FailingStore(env.Stores().Users) }, false, body(testenv.ID("u")), true, false},
		{"dynamodb throttled: retried", func() users.Store { return env.DB(signuptest.FailingWrites(env.Cfg)).Users }, true, body(testenv.ID("u")), true, false},
		{"malformed body: dropped and counted", nil, false, `{"user_id":`, false, true},
		{"unknown field: dropped and counted", nil, false, `{"user_id":"x","source":"s","extra":1}`, false, true},
		{"invalid id: dropped and counted", nil, false, body("a#b"), false, true},
		{"id taken by a REST user: dropped and counted", nil, false, body(taken), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.aws {
				testenv.NeedAWS(t)
			}
			var store users.Store
			if tc.store != nil {
				store = tc.store()
			}
			h, log := newWorker(t, store)
			ev := fixtureEvent(t, tc.body)
			f := failures(t, h, ev)
			if retried := len(f) == 1 && f[0] == ev.Records[0].MessageId; retried != tc.retry {
				t.Fatalf("failures %v, want retry=%v\n%s", f, tc.retry, log)
			}
			if counted := log.Count("SignupFailures") == 1; counted != tc.metric {
				t.Fatalf("metric=%v, want %v\n%s", counted, tc.metric, log)
			}
		})
	}
	u, err := users.NewService(env.Stores().Users, nil, nil).Get(context.Background(), *testenv.Admin(), taken)
	if err != nil || u.Source != "" {
		t.Fatalf("the REST user was taken over: %+v %v", u, err)
	}
	if _, err := users.NewService(env.Stores().Users, nil, nil).Get(context.Background(), *testenv.Admin(), "a#b"); !apierror.Is(err, apierror.InvalidID) {
		t.Fatalf("invalid id: %v", err)
	}
}
