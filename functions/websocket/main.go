// Command websocket serves the WebSocket API's routes: $connect,
// $disconnect, $default and the actions of docs/websocket.md.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/realtime"
)

func main() {
	ctx := context.Background()
	a := app.Load(ctx, "websocket")
	h := NewHandler(a.DB, realtime.NewAPIPusher(a.AWS, os.Getenv("WS_MANAGEMENT_ENDPOINT")), a.Log)
	lambda.Start(h.Handle)
}
