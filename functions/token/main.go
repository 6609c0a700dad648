// Command token serves the OAuth2 token endpoint, user-token issuance and
// app-credential management.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/auth"
)

func main() {
	ctx := context.Background()
	a := app.Load(ctx, "token")
	h := NewHandler(auth.NewService(a.Tokens, a.DB, a.DB), a.Log)
	lambda.Start(h.Handle)
}
