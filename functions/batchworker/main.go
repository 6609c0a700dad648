// Command batchworker creates the rows of batch jobs, one SQS message (a
// chunk of up to 200 rows) at a time.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/config"
)

func main() {
	ctx := context.Background()
	a := app.Load(ctx, "batchworker")
	groups := batch.ChatGroups{Chat: chat.NewService(a.DB.Chat, a.Cursors, chat.ConfigFromEnv(), chat.Options{Notifier: app.Notifier(a.AWS, a.DB.Connections, a.Log)}), Groups: a.DB.Groups}
	p := batch.NewProcessor(a.DB.Jobs, a.Log, batch.ProcessorOptions{
		Parallelism: config.Int("BATCH_WRITE_PARALLELISM", batch.DefaultParallelism), Groups: groups})
	lambda.Start(NewHandler(p, a.Log))
}
