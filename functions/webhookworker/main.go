// Command webhookworker delivers TokenIM's events to webhook endpoints
// (WebhookQueue: events from the bus and attempt tasks; docs/events.md
// "Webhooks").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/webhooks"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.LoadStore(ctx, "webhookworker", cfg)
	w := &webhooks.Worker{
		Store:  dynamo.NewWebhooks(a.DB.Client(), cfg.Webhooks.Table),
		Sender: webhooks.NewSender(cfg.Webhooks.Policy()),
		Tasks:  sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.Webhooks.QueueURL),
		Log:    a.Log,
	}
	lambda.Start(NewHandler(w, a.Log, app.Redeliverer(a.AWS)))
}
