// Command webhooks serves the admin routes of webhook endpoints and their
// deliveries (/v1/webhooks, docs/events.md "Webhooks").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/webhooks"
)

func main() {
	ctx := context.Background()
	// No signing key: this function issues no tokens and its cursors are
	// plain delivery ids.
	cfg := newConfig()
	a := app.LoadStore(ctx, "webhooks", cfg)
	store := dynamo.NewWebhooks(a.DB.Client(), cfg.Webhooks.Table)
	tasks := sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.Webhooks.QueueURL)
	svc := webhooks.NewService(store, cfg.Webhooks.Policy(), tasks, nil)
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	lambda.Start(NewHandler(svc, rec, a.Log).WithCORS(cfg.REST.CORS()).Handle)
}
