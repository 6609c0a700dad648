// Command events turns the Users, Groups, Jobs and Messages tables'
// streams into TokenIM's domain events on the stack's EventBridge bus
// and routes them to the webhook endpoints that want them
// (docs/events.md).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	ebus "github.com/tokenim/tokenim/shared/aws/eventbridge"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	tevents "github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/webhooks"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.LoadStore(ctx, "events", cfg)
	pub := &tevents.Publisher{Bus: &ebus.Bus{API: eventbridge.NewFromConfig(a.AWS), Name: cfg.EventBusName}}
	route := &webhooks.Router{Store: dynamo.NewWebhooks(a.DB.Client(), cfg.WebhooksTable),
		Queue: sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.WebhookEventQueueURL)}
	dead := sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.DeadLetterQueueURL)
	lambda.Start(NewHandler(pub, route, a.Log).WithDeadLetters(dead).Handle)
}
