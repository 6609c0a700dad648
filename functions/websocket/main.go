// Command websocket serves the WebSocket API's routes: $connect,
// $disconnect, $default and the actions of docs/websocket.md.
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
	a := app.Load(ctx, "websocket", cfg)
	rt := app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log)
	svc := chat.NewService(a.DB.Chat, a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: rt})
	h := NewHandler(a.DB.Connections, rt, svc, a.Log)
	lambda.Start(h.Handle)
}
