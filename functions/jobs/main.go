// Command jobs serves the batch-job REST routes: submit users or groups in
// bulk, read a job and its failed rows, verify ids (shared/verify).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/verify"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "jobs", cfg)
	queue := sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.BatchQueueURL)
	groups := batch.ChatGroups{Chat: chat.NewService(a.DB.Chat, a.Cursors, cfg.Chat.Config(), chat.Options{Notifier: app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log)}), Groups: a.DB.Groups}
	proc := batch.NewProcessor(a.DB.Jobs, a.Log, batch.ProcessorOptions{Groups: groups})
	h := NewHandler(batch.NewService(a.DB.Jobs, queue, proc, a.Cursors, cfg.Batch.Config(), a.Log), verify.New(a.DB.Jobs, a.DB.Groups),
		audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil), a.Log)
	lambda.Start(h.WithCORS(cfg.REST.CORS()).Handle)
}
