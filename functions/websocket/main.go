// Command websocket serves the WebSocket API's routes: $connect,
// $disconnect, $default and the actions of docs/websocket.md.
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
	a := app.Load(ctx, "websocket", cfg)
	rt := app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log)
	mod := dynamo.NewModeration(a.DB.Client(), a.DB.Tables())
	// One guard screens sends and re-reads each frame's ban and role, so
	// both share its per-sandbox status cache.
	guard := moderation.NewGuard(mod, a.Log).WithRoles(permissions.NewRoleBook(mod, nil))
	svc := chat.NewService(a.ChatStore(cfg.Attachments), a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: rt,
		Guard: app.Guards(guard, a.Guard(cfg.PreSend), a.AttachmentsGuard(cfg.Attachments)),
		Audit: audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)})
	h := NewHandler(a.DB.Connections, rt, svc, a.Log).WithStanding(guard)
	lambda.Start(h.Handle)
}
