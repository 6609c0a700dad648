package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/signup/signuptest"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// BenchmarkSignup measures one sign-up through the trigger (as Lambda
// invokes it) against the baseline of creating the same user with
// users.Create (POST /v1/users) in the same run: x_create is the time
// ratio. requests/op counts every AWS request (DynamoDB and SQS).
func BenchmarkSignup(b *testing.B) {
	testenv.NeedAWS(b) // it counts AWS requests
	env := testenv.Get(b)
	ctx := context.Background()
	cfg, counter := env.Counted()
	log := logging.NewTo(&localtest.Log{}, "bench")
	failing := signuptest.FailingWrites(cfg)
	queue := signup.SenderQueue{Sender: sqsqueue.New(sqs.NewFromConfig(cfg), env.Res.QueueURLs["SignupQueue"])}
	trigger := func(c aws.Config) any {
		svc := signup.NewService(users.NewService(env.DB(c).Users, nil, nil), queue, log, signup.Options{})
		return NewHandler(svc, log).Handle
	}
	var ev events.CognitoEventUserPoolsPostConfirmation
	testenv.Fixture(b, "cognito-post-confirmation.json", &ev)
	repeated := ev
	repeated.Request.UserAttributes = map[string]string{"sub": testenv.ID("repeat"), "name": "R"}
	testenv.Invoke(b, trigger(env.Cfg), repeated, nil)

	admin := *testenv.Admin()
	create := users.NewService(env.DB(cfg).Users, nil, nil)
	var baseline float64
	cases := []struct {
		name string
		op   func(b *testing.B, i int)
	}{
		{"baseline_users_create", func(b *testing.B, i int) {
			if _, _, err := create.Create(ctx, admin, users.CreateInput{UserID: testenv.ID("base"), Profile: users.Profile{Nickname: "Carol"}}, ""); err != nil {
				b.Fatal(err)
			}
		}},
		{"trigger_new_signup", func(b *testing.B, i int) {
			e := ev
			e.Request.UserAttributes = map[string]string{"sub": testenv.ID("new"), "name": "Carol"}
			testenv.Invoke(b, trigger(cfg), e, nil)
		}},
		{"trigger_repeated_event", func(b *testing.B, i int) { testenv.Invoke(b, trigger(cfg), repeated, nil) }},
		{"trigger_dynamodb_down_queued", func(b *testing.B, i int) {
			e := ev
			e.Request.UserAttributes = map[string]string{"sub": testenv.ID("down"), "name": "Carol"}
			testenv.Invoke(b, trigger(failing), e, nil)
		}},
	}
	// Warm connections and the emulator first, or the baseline (which runs
	// first) pays for it.
	for _, tc := range cases {
		for i := range 20 {
			tc.op(b, i)
		}
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			counter.Reset()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				tc.op(b, i)
			}
			per := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			s := counter.Snapshot()
			b.ReportMetric(float64(s.Total("DynamoDB")+s.Total("SQS"))/float64(b.N), "requests/op")
			b.ReportMetric(float64(s.Total("SQS"))/float64(b.N), "sqs/op")
			if baseline == 0 {
				baseline = per
			}
			b.ReportMetric(per/baseline, "x_create")
		})
	}
}
