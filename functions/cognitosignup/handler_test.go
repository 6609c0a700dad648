package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/signup/signuptest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type trigger struct {
	env     *testenv.Env
	handler any
	log     *localtest.Log
	users   *users.Service // reads through an unfaulted store
}

type setup struct {
	store   users.Store // the trigger's users store (faults go here); nil: the backend's
	queue   signup.Queue
	mapping signup.Mapping
	budget  time.Duration
}

func newTrigger(t *testing.T, s setup) trigger {
	t.Helper()
	env := testenv.Get(t)
	if s.store == nil {
		s.store = env.Stores().Users
	}
	tr := trigger{env: env, log: &localtest.Log{}, users: users.NewService(env.Stores().Users, env.Cursors, nil)}
	if s.queue == nil {
		s.queue = signup.SenderQueue{Sender: env.Queue("SignupQueue")}
	}
	log := logging.NewTo(tr.log, "cognitosignup")
	svc := signup.NewService(users.NewService(s.store, nil, nil), s.queue, log,
		signup.Options{Mapping: s.mapping, WriteBudget: s.budget})
	tr.handler = NewHandler(svc, log).Handle
	return tr
}

// event is the fixture with a fresh sub (and user name).
func event(t *testing.T, edit func(attrs map[string]string)) events.CognitoEventUserPoolsPostConfirmation {
	t.Helper()
	var ev events.CognitoEventUserPoolsPostConfirmation
	testenv.Fixture(t, "cognito-post-confirmation.json", &ev)
	sub := testenv.ID("sub")
	ev.UserName = sub
	ev.Request.UserAttributes["sub"] = sub
	if edit != nil {
		edit(ev.Request.UserAttributes)
	}
	return ev
}

// invoke calls the trigger as Lambda does and checks it handed the event
// back unchanged (what Cognito requires of a PostConfirmation trigger).
func (tr trigger) invoke(t *testing.T, ev events.CognitoEventUserPoolsPostConfirmation) {
	t.Helper()
	var out events.CognitoEventUserPoolsPostConfirmation
	testenv.Invoke(t, tr.handler, ev, &out)
	if !reflect.DeepEqual(out, ev) {
		t.Fatalf("trigger changed the event:\n got %+v\nwant %+v", out, ev)
	}
}

func (tr trigger) get(t *testing.T, id string) (users.User, error) {
	t.Helper()
	return tr.users.Get(context.Background(), *testenv.Admin(), id)
}

func TestSignupCreatesUser(t *testing.T) {
	tr := newTrigger(t, setup{mapping: signup.Mapping{MetadataAttributes: []string{"locale", "zoneinfo"}}})
	ev := event(t, nil)
	sub := ev.Request.UserAttributes["sub"]
	tr.invoke(t, ev)
	u, err := tr.get(t, sub)
	if err != nil {
		t.Fatalf("user not created: %v", err)
	}
	want := users.User{UserID: sub, Nickname: "Carol", AvatarURL: "https://example.com/avatars/carol.png", Metadata: map[string]string{"locale": "en-GB"}}
	if u.UserID != want.UserID || u.Nickname != want.Nickname || u.AvatarURL != want.AvatarURL || !reflect.DeepEqual(u.Metadata, want.Metadata) {
		t.Fatalf("user %+v, want %+v", u, want)
	}
	if u.Source != signup.CognitoSource(ev.UserPoolID, sub) {
		t.Fatalf("source %q", u.Source)
	}
	if strings.Contains(tr.log.String(), "carol@example.com") {
		t.Fatal("the trigger logged the user's email")
	}
}

// TestSignupRepeated: Cognito retries a trigger that times out, and a
// sign-up can be confirmed through several paths; one user results.
func TestSignupRepeated(t *testing.T) {
	tr := newTrigger(t, setup{})
	ev := event(t, nil)
	sub := ev.Request.UserAttributes["sub"]
	for range 3 {
		tr.invoke(t, ev)
	}
	u, err := tr.get(t, sub)
	if err != nil {
		t.Fatal(err)
	}
	if n := tr.log.Count(`"msg":"chat account created"`); n != 1 {
		t.Fatalf("created %d times, want 1", n)
	}
	if n := tr.log.Count(`"msg":"chat account already exists for this identity"`); n != 2 {
		t.Fatalf("%d repeats recognised, want 2:\n%s", n, tr.log)
	}
	// The repeats left the first write alone.
	again, _ := tr.get(t, sub)
	if again.Gen != u.Gen || !again.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("repeat rewrote the user: %+v vs %+v", again, u)
	}
}

// TestSignupDynamoDBFailureQueues: a failed or stalled write queues the
// sign-up. The store-port faults run on both backends; the AWS SDK
// faults (a real ThrottlingException, a request that never answers) need
// the emulator.
func TestSignupDynamoDBFailureQueues(t *testing.T) {
	env := testenv.Get(t)
	for _, tc := range []struct {
		name  string
		store func() users.Store
		aws   bool
	}{
		{"store fails", func() users.Store { return signuptest.FailingStore(env.Stores().Users) }, false},
		{"store stalls past the write budget", func() users.Store { return signuptest.HangingStore(env.Stores().Users) }, false},
		{"dynamodb throttled", func() users.Store { return env.DB(signuptest.FailingWrites(env.Cfg)).Users }, true},
		{"dynamodb stalled past the write budget", func() users.Store { return env.DB(signuptest.HangingWrites(env.Cfg)).Users }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.aws {
				testenv.NeedAWS(t)
			}
			tr := newTrigger(t, setup{store: tc.store(), budget: 300 * time.Millisecond})
			ev := event(t, nil)
			sub := ev.Request.UserAttributes["sub"]
			tr.invoke(t, ev) // returns the event: the sign-up succeeds
			if _, err := tr.get(t, sub); !apierror.Is(err, apierror.NotFound) {
				t.Fatalf("user exists despite the failure: %v", err)
			}
			got := signuptest.Receive(t, tr.env, sub, 1, 10)
			if len(got) != 1 {
				t.Fatalf("%d queued requests for the user, want 1\n%s", len(got), tr.log)
			}
			r := got[0].Request
			if r.Source != signup.CognitoSource(ev.UserPoolID, sub) || r.Nickname != "Carol" || r.QueuedAt.IsZero() {
				t.Fatalf("queued %+v", r)
			}
			if tr.log.Count("SignupFailures") != 0 {
				t.Fatal("a queued sign-up was counted as a failure")
			}
		})
	}
}

type brokenQueue struct{}

func (brokenQueue) Enqueue(context.Context, signup.Request) error {
	return errors.New("injected: SQS unavailable")
}

// TestSignupNeverFails: whatever goes wrong, the trigger hands the event
// back (the sign-up succeeds) and counts what it could not do.
func TestSignupNeverFails(t *testing.T) {
	env := testenv.Get(t)
	owner := newTrigger(t, setup{mapping: signup.Mapping{IDAttribute: "email"}})
	taken := event(t, func(a map[string]string) { a["email"] = testenv.ID("taken") + "@example.com" })
	owner.invoke(t, taken)
	tests := []struct {
		name    string
		setup   setup
		ev      events.CognitoEventUserPoolsPostConfirmation
		outcome signup.Outcome
	}{
		{"dynamodb and sqs both down", setup{store: signuptest.FailingStore(env.Stores().Users), queue: brokenQueue{}}, event(t, nil), signup.Lost},
		{"id attribute missing", setup{mapping: signup.Mapping{IDAttribute: "custom:chat_id"}}, event(t, nil), signup.Rejected},
		{"id attribute not a valid id", setup{mapping: signup.Mapping{IDAttribute: "preferred_username"}},
			event(t, func(a map[string]string) { a["preferred_username"] = "carol#admin" }), signup.Rejected},
		// Another identity whose email maps onto a taken id must not take
		// over that account.
		{"id belongs to another identity", setup{mapping: signup.Mapping{IDAttribute: "email"}},
			event(t, func(a map[string]string) { a["email"] = taken.Request.UserAttributes["email"]; a["name"] = "Mallory" }), signup.Rejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrigger(t, tc.setup)
			tr.invoke(t, tc.ev)
			if n := tr.log.Count("SignupFailures", `"outcome":"`+string(tc.outcome)+`"`); n != 1 {
				t.Fatalf("want one SignupFailures metric line with outcome %s:\n%s", tc.outcome, tr.log)
			}
			if got := signuptest.Receive(t, tr.env, tc.ev.Request.UserAttributes["sub"], 1, 2); len(got) != 0 {
				t.Fatalf("a sign-up that cannot succeed was queued: %+v", got)
			}
		})
	}
	u, err := owner.get(t, taken.Request.UserAttributes["email"])
	if err != nil || u.Nickname != "Carol" || u.Source != signup.CognitoSource(taken.UserPoolID, taken.Request.UserAttributes["sub"]) {
		t.Fatalf("the taken account changed: %+v %v", u, err)
	}
}

// TestMetricLine: the failure line is CloudWatch Embedded Metric Format,
// which is what SignupFailureAlarm in template.yaml watches.
func TestMetricLine(t *testing.T) {
	tr := newTrigger(t, setup{mapping: signup.Mapping{IDAttribute: "custom:none"}})
	tr.invoke(t, event(t, nil))
	var line struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace string
				Metrics   []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		SignupFailures float64
	}
	for _, l := range strings.Split(tr.log.String(), "\n") {
		if strings.Contains(l, "SignupFailures") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := line.AWS.CloudWatchMetrics
	if len(m) != 1 || m[0].Namespace != "TokenIM" || len(m[0].Metrics) != 1 || m[0].Metrics[0].Name != "SignupFailures" || line.SignupFailures != 1 {
		t.Fatalf("not an EMF record of SignupFailures: %+v\n%s", line, tr.log)
	}
}

// TestPasswordResetConfirmationWritesNothing: the trigger's store is
// never called (so no DynamoDB request is made) and nothing is queued.
func TestPasswordResetConfirmationWritesNothing(t *testing.T) {
	store := &untouched{t: t}
	tr := newTrigger(t, setup{store: store})
	ev := event(t, nil)
	ev.TriggerSource = "PostConfirmation_ConfirmForgotPassword"
	tr.invoke(t, ev)
	if store.calls != 0 {
		t.Fatalf("%d store calls, want none", store.calls)
	}
	if _, err := tr.get(t, ev.Request.UserAttributes["sub"]); !apierror.Is(err, apierror.NotFound) {
		t.Fatalf("a password reset created a chat account: %v", err)
	}
	if got := signuptest.Receive(t, tr.env, ev.Request.UserAttributes["sub"], 1, 1); len(got) != 0 {
		t.Fatalf("a password reset was queued: %+v", got)
	}
}

// untouched is a users store that counts (and refuses) every call.
type untouched struct {
	t     *testing.T
	calls int
}

var errUntouched = errors.New("untouched store called")

func (s *untouched) call(op string) error {
	s.t.Helper()
	s.calls++
	s.t.Errorf("store %s called", op)
	return errUntouched
}

func (s *untouched) PutUserIfAbsent(context.Context, users.User) (*users.User, error) {
	return nil, s.call("PutUserIfAbsent")
}

func (s *untouched) GetUser(context.Context, string) (users.User, error) {
	return users.User{}, s.call("GetUser")
}

func (s *untouched) UpdateProfile(context.Context, string, users.Patch, time.Time) (users.User, error) {
	return users.User{}, s.call("UpdateProfile")
}

func (s *untouched) DeleteUser(context.Context, string) (users.User, error) {
	return users.User{}, s.call("DeleteUser")
}

func (s *untouched) ListUsers(context.Context, int, []byte) ([]users.User, []byte, error) {
	return nil, nil, s.call("ListUsers")
}

func (s *untouched) UpsertUser(context.Context, users.UpsertWrite) (users.Upserted, error) {
	return users.Upserted{}, s.call("UpsertUser")
}

func (s *untouched) ClaimIdempotencyKey(context.Context, string, string, string, time.Duration) (string, error) {
	return "", s.call("ClaimIdempotencyKey")
}

// TestSignupCost pins the trigger's requests: one PutItem per sign-up,
// also for a repeat. Only DynamoDB can count them.
func TestSignupCost(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	cfg, counter := env.Counted()
	tr := newTrigger(t, setup{store: env.DB(cfg).Users})
	ev := event(t, nil)
	for i := range 2 {
		counter.Reset()
		tr.invoke(t, ev)
		if s := counter.Snapshot(); len(s.Requests) != 1 || s.Count("DynamoDB.PutItem") != 1 {
			t.Fatalf("delivery %d: requests %v, want 1 PutItem", i+1, s.Requests)
		}
	}
}
