// Command delivery is the delivery backstop: it reads new message items
// from the messages table's stream and, through a delay queue, pushes and
// reveals those a sender's invocation stored and then left undone
// (docs/websocket.md, "Delivery bound").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/delivery"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.LoadStore(ctx, "delivery", cfg)
	notifier := app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log)
	svc := chat.NewService(a.DB.Chat, nil, chat.Config{}, chat.Options{Notifier: notifier, Log: a.Log})
	b := &delivery.Backstop{Chat: svc, Later: sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.RepairQueueURL),
		PendingAge: cfg.pendingAge(), Log: a.Log}
	lambda.Start(NewHandler(b, a.Log, app.Redeliverer(a.AWS)).Handle)
}
