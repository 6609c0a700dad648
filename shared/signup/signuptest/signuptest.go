// Package signuptest holds test helpers for the sign-up functions: a
// store whose writes fail or hang (through the AWS SDK, or at the store
// port on either test backend), and a reader for SignupQueue.
package signuptest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokenim/tokenim/shared/batch/batchtest"
	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/testenv"
)

// FailingWrites returns a copy of cfg whose DynamoDB PutItem calls fail
// with ThrottlingException before they are sent (not retried).
func FailingWrites(cfg aws.Config) aws.Config {
	c := cfg.Copy()
	f := batchtest.NewFaults(0, 1)
	f.Poison = func(op string, _ any) bool { return op == "PutItem" }
	f.Attach(&c)
	return c
}

// HangingWrites returns a copy of cfg whose DynamoDB PutItem calls never
// answer: they return only when their context ends (a stalled service).
func HangingWrites(cfg aws.Config) aws.Config {
	c := cfg.Copy()
	c.APIOptions = append(c.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tokenim.hang",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetServiceID(ctx) == "DynamoDB" && awsmiddleware.GetOperationName(ctx) == "PutItem" {
					<-ctx.Done()
					return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	return c
}

// Received is a SignupQueue message and its decoded request.
type Received struct {
	Message types.Message
	Request signup.Request
}

// Receive reads env's SignupQueue until it has seen want messages for
// userID or polled polls times (on SQS 1 s each; the memory queue answers
// at once) and returns what it saw; other tests' messages are left alone
// (they are visible again after 2 s).
func Receive(t testing.TB, env *testenv.Env, userID string, want, polls int) []Received {
	t.Helper()
	mem := env.MemQueue("SignupQueue")
	var client *sqs.Client
	url := env.Res.QueueURLs["SignupQueue"]
	if mem == nil {
		client = sqs.NewFromConfig(env.Cfg)
	}
	var got []Received
	for poll := 0; poll < polls && len(got) < want; poll++ {
		var msgs []types.Message
		if mem != nil {
			msgs = memMessages(mem.Receive(10, 2*time.Second))
		} else {
			out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url,
				MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 2,
				MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			msgs = out.Messages
		}
		for _, m := range msgs {
			var r signup.Request
			if json.Unmarshal([]byte(aws.ToString(m.Body)), &r) == nil && r.UserID == userID {
				got = append(got, Received{Message: m, Request: r})
			}
		}
	}
	return got
}

// memMessages are memory-queue deliveries as SQS messages, so a test
// builds the worker's event from either backend the same way.
func memMessages(rs []memqueue.Received) []types.Message {
	out := make([]types.Message, len(rs))
	for i, r := range rs {
		out[i] = types.Message{MessageId: aws.String(r.ID), ReceiptHandle: aws.String(r.Handle), Body: aws.String(r.Body), Attributes: r.Attributes}
	}
	return out
}
