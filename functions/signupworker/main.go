// Command signupworker creates the chat accounts of sign-ups the Cognito
// trigger could not create at once (SignupQueue).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/users"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.LoadStore(ctx, "signupworker", cfg)
	// Retries never queue again: SQS redelivers the message itself.
	svc := signup.NewService(users.NewService(a.DB.Users, nil, nil), nil, a.Log, signup.Options{MetricsNamespace: cfg.MetricsNamespace})
	lambda.Start(NewHandler(svc, a.Log, app.Redeliverer(a.AWS)))
}
