// Command messages serves the message and conversation REST routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/moderation"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "messages", cfg)
	h := NewHandler(chat.NewService(a.ChatStore(cfg.Attachments), a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log),
		Guard: app.Guards(moderation.NewGuard(dynamo.NewModeration(a.DB.Client(), a.DB.Tables()), a.Log), a.Guard(cfg.PreSend),
			a.AttachmentsGuard(cfg.Attachments)),
		Audit: audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)}), a.Log)
	lambda.Start(h.WithCORS(cfg.REST.CORS()).Handle)
}
