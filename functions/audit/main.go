// Command audit serves GET /v1/audit: the audit log, for admin tokens
// with the audit:read scope (docs/permissions.md, "Audit log").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.LoadStore(ctx, "audit", cfg)
	lambda.Start(NewHandler(audit.NewService(dynamo.NewAudit(a.DB.Client(), cfg.AuditTable), nil), a.Log).WithCORS(cfg.REST.CORS()).Handle)
}
