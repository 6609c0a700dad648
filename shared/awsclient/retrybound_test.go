package awsclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokenim/tokenim/shared/aws/apigw"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// throttling fails every HTTP attempt of the operations it matches with
// ThrottlingException, and counts per "Service.Operation" the calls the
// code made (Initialize: once per call) and the attempts the SDK made
// (Deserialize: once per attempt, inside the retry loop, where the request
// would be sent).
type throttling struct {
	match    func(service, op string) bool
	mu       sync.Mutex
	calls    map[string]int
	attempts map[string]int
}

func newThrottling(cfg *aws.Config, match func(service, op string) bool) *throttling {
	f := &throttling{match: match, calls: map[string]int{}, attempts: map[string]int{}}
	cfg.APIOptions = append(cfg.APIOptions, f.register)
	return f
}

func (f *throttling) hit(ctx context.Context, counts map[string]int) bool {
	svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	if !f.match(svc, op) {
		return false
	}
	f.mu.Lock()
	counts[svc+"."+op]++
	f.mu.Unlock()
	return true
}

func (f *throttling) register(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("test.calls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			f.hit(ctx, f.calls)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("test.throttle",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			if f.hit(ctx, f.attempts) {
				return middleware.DeserializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "injected", Fault: smithy.FaultServer}
			}
			return next.HandleDeserialize(ctx, in)
		}), middleware.Before)
}

// captureQueue keeps the chunk messages a submit queues.
type captureQueue struct{ bodies []string }

func (q *captureQueue) SendBatch(_ context.Context, msgs []queue.Message) ([]queue.Refused, error) {
	for _, m := range msgs {
		q.bodies = append(q.bodies, m.Body)
	}
	return nil, nil
}

func dynamoWrite(service, op string) bool {
	return service == "DynamoDB" && (op == "PutItem" || op == "UpdateItem" || op == "DeleteItem" || op == "TransactWriteItems" || op == "BatchWriteItem")
}

// TestRetryBound: under throttling on every attempt, each operation makes
// exactly DefaultPolicy.MaxAttempts HTTP attempts per call, and the code
// calls it once per logical write: the attempts are bounded by the one
// policy, not by a product of stacked retry loops (batch.Backoff's 8 calls
// of 3 SDK attempts each made 24 per row before).
func TestRetryBound(t *testing.T) {
	max := awsclient.DefaultPolicy.MaxAttempts
	tests := []struct {
		name  string
		match func(service, op string) bool
		run   func(t *testing.T, cfg aws.Config) error
		calls int  // calls of the throttled operations in all
		db    bool // the untouched operations need the emulator's tables
	}{
		{"dynamodb write", dynamoWrite, func(t *testing.T, cfg aws.Config) error {
			_, _, err := users.NewService(testenv.Get(t).DB(cfg).Users, nil, nil).Create(context.Background(), *testenv.Admin(), users.CreateInput{UserID: testenv.ID("rb")}, "")
			return err
		}, 1, true},
		{"batch import chunk", dynamoWrite, func(t *testing.T, cfg aws.Config) error {
			env := testenv.Get(t)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			q := &captureQueue{}
			clean := env.DB(env.Cfg) // submit unthrottled
			proc := batch.NewProcessor(clean.Jobs, log, batch.ProcessorOptions{})
			svc := batch.NewService(clean.Jobs, q, proc, env.Cursors, batch.Config{MaxActiveJobs: 1000, MaxRowsPerDay: 100_000_000, InlineMaxRows: -1}, log)
			p := testenv.ID("rbc")
			csv := fmt.Sprintf("user_id,nickname\n%s-0,A\n%s-1,B\n%s-2,C\n", p, p, p)
			if _, err := svc.SubmitUsers(context.Background(), *testenv.Admin(), batch.SubmitInput{ContentType: "text/csv", Body: []byte(csv)}); err != nil || len(q.bodies) != 1 {
				t.Fatalf("submit: %v, %d chunks", err, len(q.bodies))
			}
			// The worker's processor, on the throttled config.
			return batch.NewProcessor(env.DB(cfg).Jobs, log, batch.ProcessorOptions{}).HandleMessage(context.Background(), q.bodies[0])
		}, 3, true}, // one conditional put per row; the commit is never reached
		{"push", func(service, _ string) bool { return service == "ApiGatewayManagementApi" }, func(_ *testing.T, cfg aws.Config) error {
			// The endpoint is never contacted: every attempt is throttled first.
			return apigw.New(cfg, "http://127.0.0.1:9/prod").Push(context.Background(), "conn-1", []byte(`{}`))
		}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := policyConfig()
			if tc.db {
				testenv.NeedAWS(t)
				cfg = testenv.Get(t).Cfg.Copy() // awsclient.Load's: DefaultPolicy
			}
			f := newThrottling(&cfg, tc.match)
			err := tc.run(t, cfg)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
				t.Fatalf("error %v, want the throttling to surface", err)
			}
			calls, attempts := 0, 0
			for op, n := range f.calls {
				calls += n
				if f.attempts[op] != n*max {
					t.Errorf("%s: %d attempts for %d calls, want %d per call", op, f.attempts[op], n, max)
				}
				attempts += f.attempts[op]
			}
			if calls != tc.calls {
				t.Fatalf("%d calls of throttled operations %v, want %d (no application retries)", calls, f.calls, tc.calls)
			}
			t.Logf("%s: %d calls, %d HTTP attempts (%v)", tc.name, calls, attempts, f.attempts)
		})
	}
}

// policyConfig is a config with DefaultPolicy, as awsclient.Load sets it,
// and test credentials: enough for a case whose every attempt is throttled
// before it is sent, so it runs without an emulator.
func policyConfig() aws.Config {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	awsclient.DefaultPolicy.Apply(&cfg)
	return cfg
}

// TestPolicyRetries: the error codes the policy adds are retried, a client
// error is not.
func TestPolicyRetries(t *testing.T) {
	tests := []struct {
		code string
		want aws.Ternary
	}{
		{"ThrottlingException", aws.TrueTernary},
		{"ProvisionedThroughputExceededException", aws.TrueTernary},
		{"TransactionConflictException", aws.TrueTernary},
		{"LimitExceededException", aws.TrueTernary},
		{"ConditionalCheckFailedException", aws.FalseTernary},
	}
	r := awsclient.DefaultPolicy.Retryer()
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			got := r.IsErrorRetryable(&smithy.GenericAPIError{Code: tc.code})
			if got != (tc.want == aws.TrueTernary) {
				t.Fatalf("retryable %v, want %v", got, tc.want)
			}
		})
	}
	if r.MaxAttempts() != awsclient.DefaultPolicy.MaxAttempts {
		t.Fatalf("max attempts %d", r.MaxAttempts())
	}
}
