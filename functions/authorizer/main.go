// Command authorizer is the Lambda REQUEST authorizer for the REST API and
// the WebSocket API's $connect route.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/permissions"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "authorizer", cfg)
	// Bans and app roles are read with the user's generation (one read);
	// app-defined roles once per sandbox per 30 s.
	mod := dynamo.NewModeration(a.DB.Client(), a.DB.Tables())
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	h := NewHandler(auth.NewService(a.Tokens, a.DB.Credentials, a.DB.Users).WithStatus(mod, permissions.NewRoleBook(mod, nil)), a.Log).
		WithFailures(audit.NewFailures(rec, nil))
	lambda.Start(h.Handle)
}
