// Command cognitosignup is the Cognito User Pool PostConfirmation trigger:
// it creates the chat account of every sign-up (README, "Sign-up flows").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/users"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.LoadStore(ctx, "cognitosignup", cfg)
	queue := signup.SenderQueue{Sender: sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.SignupQueueURL)}
	svc := signup.NewService(users.NewService(a.DB.Users, nil, nil), queue, a.Log, signup.Options{Mapping: cfg.Signup.Mapping(), MetricsNamespace: cfg.MetricsNamespace})
	lambda.Start(NewHandler(svc, a.Log).Handle)
}
