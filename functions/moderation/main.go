// Command moderation serves app-wide moderation: bans, roles, users'
// blocklists, the word filter and reports (docs/permissions.md).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/permissions"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "moderation", cfg)
	store := dynamo.NewModeration(a.DB.Client(), a.DB.Tables())
	msgs := ChatReader{Chat: chat.NewService(a.DB.Chat, a.Cursors, chat.Config{}, chat.Options{})}
	svc := moderation.NewService(store, permissions.NewRoleBook(store, nil), msgs, nil)
	// A banned user's sockets close at once (their tokens already stop working).
	svc.OnBan(app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log).CloseUser)
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	lambda.Start(NewHandler(svc, rec, a.Log).WithCORS(cfg.REST.CORS()).Handle)
}
