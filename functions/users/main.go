// Command users serves the user-account REST routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/users"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "users", cfg)
	svc := users.NewService(a.DB.Users, a.Cursors, nil)
	// A deleted user's sockets close at once (its tokens already stop working).
	svc.OnDelete(app.Notifier(a.AWS, a.DB.Connections, cfg.Realtime, a.Log).CloseUser)
	h := NewHandler(svc, a.Log)
	lambda.Start(h.Handle)
}
