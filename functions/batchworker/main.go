// Command batchworker creates the rows of batch jobs, one SQS message (a
// chunk of up to 200 rows) at a time.
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
	a := app.Load(ctx, "batchworker", cfg)
	groups := batch.ChatGroups{Chat: chat.NewService(a.DB.Chat, a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log)}), Groups: a.DB.Groups}
	p := batch.NewProcessor(a.DB.Jobs, a.Log, batch.ProcessorOptions{
		Parallelism: cfg.Parallelism, Groups: groups})
	lambda.Start(NewHandler(p, a.Log, app.Redeliverer(a.AWS)))
}
