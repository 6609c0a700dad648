// Command batchdlq closes batch chunks that landed in the dead-letter queue.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "batchdlq", cfg)
	groups := batch.ChatGroups{Chat: chat.NewService(a.DB.Chat, a.Cursors, cfg.Chat.Config(), chat.Options{}), Groups: a.DB.Groups}
	p := batch.NewProcessor(a.DB.Jobs, a.Log, batch.ProcessorOptions{Groups: groups})
	lambda.Start(NewHandler(p, a.Log, app.Redeliverer(a.AWS)))
}
