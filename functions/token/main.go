// Command token serves the OAuth2 token endpoint (client credentials and
// Cognito ID-token exchange), user-token issuance and app-credential
// management.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/idtoken"
	"github.com/tokenim/tokenim/shared/users"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "token", cfg)
	v, err := idtoken.New(cfg.Cognito.Config(a.Log))
	if err != nil {
		a.Log.Error("init failed", "step", "cognito id-token verifier", "err", err.Error())
		os.Exit(1)
	}
	ex := Exchange{Verifier: v, Users: users.NewService(a.DB.Users, a.Cursors, nil), Mapping: cfg.Signup.Mapping()}
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	h := NewHandler(auth.NewService(a.Tokens, a.DB.Credentials, a.DB.Users), auth.NewCredentials(a.DB.Credentials, nil), ex, rec, a.Log)
	lambda.Start(h.WithCORS(cfg.REST.CORS()).Handle)
}
