// Command users serves the user-account REST routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/users"
)

func main() {
	ctx := context.Background()
	a := app.Load(ctx, "users")
	h := NewHandler(users.NewService(a.DB, a.Cursors, nil), a.Log)
	lambda.Start(h.Handle)
}
