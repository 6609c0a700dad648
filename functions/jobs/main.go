// Command jobs serves the batch-job REST routes: submit users or groups in
// bulk, read a job and its failed rows, verify ids.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "jobs", cfg)
	queue := sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.BatchQueueURL)
	groups := batch.ChatGroups{Chat: chat.NewService(a.DB, a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: app.Notifier(a.AWS, a.DB, cfg.Realtime, a.Log)}), Groups: a.DB}
	proc := batch.NewProcessor(a.DB, a.Log, batch.ProcessorOptions{Groups: groups})
	h := NewHandler(batch.NewService(a.DB, queue, proc, a.Cursors, cfg.Batch.Config(), a.Log), a.Log)
	lambda.Start(h.Handle)
}
