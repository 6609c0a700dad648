// Command fanout is the large-group fan-out worker: it consumes
// FanoutQueue and pushes events to the members of groups above
// FANOUT_INLINE_MAX (docs/websocket.md, "Large groups").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "fanout", cfg)
	lambda.Start(NewHandler(app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log), a.Log, app.Redeliverer(a.AWS)))
}
