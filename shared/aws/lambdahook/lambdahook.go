// Package lambdahook calls an app's Lambda function synchronously (the
// pre-send hook, shared/presend): Invoke with RequestResponse, the answer
// its payload. A function error (X-Amz-Function-Error) is an error.
package lambdahook

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/tokenim/tokenim/shared/presend"
)

// API is the part of the Lambda client the caller uses.
type API interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Caller invokes one function (name, ARN or alias ARN).
type Caller struct {
	API      API
	Function string
}

var _ presend.Caller = (*Caller)(nil)

// Call invokes the function with body. The SDK's retries are off: the
// 2-second budget has no room for them, and the policy covers a failure.
func (c *Caller) Call(ctx context.Context, body []byte) ([]byte, error) {
	out, err := c.API.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(c.Function), InvocationType: types.InvocationTypeRequestResponse,
		Payload: body}, func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return nil, fmt.Errorf("lambdahook: invoke: %w", err)
	}
	if out.FunctionError != nil {
		return nil, fmt.Errorf("lambdahook: function error %s", aws.ToString(out.FunctionError))
	}
	return out.Payload, nil
}
