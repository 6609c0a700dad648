// Command users serves the user-account REST routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sns"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/users"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "users", cfg)
	svc := users.NewService(a.DB.Users, a.Cursors, nil)
	// A deleted user's sockets close at once (its tokens already stop working).
	svc.OnDelete(app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log).CloseUser)
	// ... and its push devices go with their SNS endpoints, so the id
	// created again never reaches the old user's phones, and its push
	// settings and notifications (docs/push.md).
	pushStore := dynamo.NewPush(a.DB.Client(), a.DB.Tables())
	svc.OnDelete(push.NewDevices(pushStore, a.DB.Users, a.Log, nil).
		WithEndpoints(sns.New(awssns.NewFromConfig(a.AWS), nil)).WithUserData(pushStore).ForgetUser)
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	h := NewHandler(svc, rec, a.Log)
	lambda.Start(h.WithCORS(cfg.REST.CORS()).Handle)
}
