package batchtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// WriteOps are DynamoDB's write operations.
var WriteOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

// Faults makes DynamoDB write calls fail, through SDK middleware:
//
//   - Rate: that fraction of write attempts fails at random, half of them
//     before the request is sent (ThrottlingException), half after
//     DynamoDB applied it (a 500 whose answer is lost), so a retry meets
//     its own earlier write. Each HTTP attempt rolls anew, and the SDK's
//     retryer (the one policy, awsclient.DefaultPolicy) retries them.
//   - Poison: every call whose input it matches fails (throttling) before
//     the SDK's retry loop, so the code under test sees it at once.
type Faults struct {
	Rate   float64
	Poison func(op string, input any) bool

	Throttled, LostReplies, Poisoned atomic.Int64
	mu                               sync.Mutex
	rng                              *rand.Rand
}

// NewFaults returns faults at rate with a fixed seed (reproducible runs).
func NewFaults(rate float64, seed uint64) *Faults {
	return &Faults{Rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Attach installs the faults on cfg.
func (f *Faults) Attach(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, f.register)
}

func (f *Faults) roll() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64()
}

func isWrite(ctx context.Context) (string, bool) {
	op := awsmiddleware.GetOperationName(ctx)
	return op, awsmiddleware.GetServiceID(ctx) == "DynamoDB" && WriteOps[op]
}

func throttle() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "injected throttling", Fault: smithy.FaultServer}
}

func (f *Faults) register(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tokenim.poison",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if op, ok := isWrite(ctx); ok && f.Poison != nil && f.Poison(op, in.Parameters) {
				f.Poisoned.Add(1)
				return middleware.InitializeOutput{}, middleware.Metadata{}, throttle()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("tokenim.faults",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			_, ok := isWrite(ctx)
			if !ok || f.Rate == 0 {
				return next.HandleDeserialize(ctx, in)
			}
			r := f.roll()
			switch {
			case r < f.Rate/2:
				f.Throttled.Add(1)
				return middleware.DeserializeOutput{}, middleware.Metadata{}, throttle()
			case r < f.Rate:
				// The request reaches DynamoDB; whatever it answered is lost.
				_, md, _ := next.HandleDeserialize(ctx, in)
				f.LostReplies.Add(1)
				resp := &smithyhttp.Response{Response: &http.Response{StatusCode: 500, Header: http.Header{}}}
				return middleware.DeserializeOutput{}, md, &awshttp.ResponseError{
					ResponseError: &smithyhttp.ResponseError{Response: resp, Err: errors.New("injected 500 after the write was applied")}}
			}
			return next.HandleDeserialize(ctx, in)
		}), middleware.Before)
}
