// Command authorizer is the Lambda REQUEST authorizer for the REST API and
// the WebSocket API's $connect route.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/auth"
)

func main() {
	ctx := context.Background()
	a := app.Load(ctx, "authorizer", newConfig())
	h := NewHandler(auth.NewService(a.Tokens, a.DB.Credentials, a.DB.Users), a.Log)
	lambda.Start(h.Handle)
}
