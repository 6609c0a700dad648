// Command messages serves the message and conversation REST routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/chat"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "messages", cfg)
	h := NewHandler(chat.NewService(a.DB.Chat, a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log)}), a.Log)
	lambda.Start(h.Handle)
}
