// Package app builds what every function needs once per cold start: the
// logger, the AWS configuration, the store and the keys. A function's
// main.go calls Load and then wires its own service and handler.
package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/cursor"
	"github.com/tokenim/tokenim/shared/logging"
)

// App is the shared dependencies of a function.
type App struct {
	Log     *slog.Logger
	AWS     aws.Config
	DB      dynamo.Stores // one DynamoDB adapter per aggregate
	Tokens  *auth.Tokens
	Cursors *cursor.Codec
}

// Load builds the dependencies. On failure it logs and exits: this runs
// during INIT, where failing fast makes Lambda report the init error.
func Load(ctx context.Context, function string) *App {
	a := LoadStore(ctx, function)
	key, err := config.SigningKey(ctx, a.AWS)
	if err != nil {
		fail(a.Log, "load signing key", err)
	}
	a.Tokens, a.Cursors, err = config.Keys(key)
	if err != nil {
		fail(a.Log, "derive keys", err)
	}
	return a
}

// LoadStore builds the logger, AWS configuration and store only, for
// functions that neither issue tokens nor page with cursors (the sign-up
// trigger: no Secrets Manager call in its cold start, which counts
// against Cognito's 5-second limit, and no permission to read the key).
func LoadStore(ctx context.Context, function string) *App {
	log := logging.New(function)
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		fail(log, "load aws config", err)
	}
	return &App{Log: log, AWS: cfg, DB: dynamo.New(dynamodb.NewFromConfig(cfg), dynamo.TablesFromEnv())}
}

func fail(log *slog.Logger, what string, err error) {
	log.Error("init failed", "step", what, "err", err.Error())
	os.Exit(1)
}
