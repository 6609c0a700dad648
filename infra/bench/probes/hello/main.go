// Command hello is the cold-start baseline of infra/bench: the smallest Go
// Lambda function, built the way the Makefile builds TokenIM's.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "hello", nil })
}
