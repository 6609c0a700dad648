// Command notifications serves the notification API: admin broadcasts
// (POST /v1/notifications, an asynchronous job run by the push worker),
// their progress, and each user's notifications (docs/push.md).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/push"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	// No signing key: no tokens issued, and the inbox cursor is a
	// notification id (not secret).
	a := app.LoadStore(ctx, "notifications", cfg)
	store := dynamo.NewPush(a.DB.Client(), a.DB.Tables())
	jobs := sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.Broadcasts.PushQueueURL)
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	lambda.Start(NewHandler(push.NewBroadcasts(store, jobs, cfg.Broadcasts.Config(), nil), rec, a.Log).WithCORS(cfg.REST.CORS()).Handle)
}
