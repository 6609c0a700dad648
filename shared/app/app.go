// Package app builds what every function needs once per cold start: the
// function's typed configuration (config.go), the logger, the AWS
// configuration, the store and the keys. A function's main.go declares its
// configuration, calls Load and then wires its own service and handler.
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
)

// App is the shared dependencies of a function.
type App struct {
	Log     *slog.Logger
	AWS     aws.Config
	DB      dynamo.Stores // one DynamoDB adapter per aggregate
	Tokens  *auth.Tokens
	Cursors *cursor.Codec
}

// Load reads cfg from the environment and builds the dependencies. On
// failure it logs and exits: this runs during INIT, where failing fast
// makes Lambda report the init error.
func Load(ctx context.Context, function string, cfg KeyedEnv) *App {
	a := LoadStore(ctx, function, cfg)
	if err := a.loadKeys(ctx, cfg.appKeys()); err != nil {
		os.Exit(1) // loadKeys has logged why
	}
	return a
}

// loadKeys reads the signing key (a network call, bounded by
// config.SigningKey) and derives the token and cursor keys. On failure it
// has logged one line naming the step and the dependency.
func (a *App) loadKeys(ctx context.Context, k *Keys) error {
	key, err := config.SigningKey(ctx, a.AWS, k.SigningKeySecretARN)
	if err != nil {
		return logFailure(a.Log, "load signing key", config.SigningKeyDependency, err)
	}
	a.Tokens, a.Cursors, err = config.Keys(key, k.issuer())
	if err != nil {
		return logFailure(a.Log, "derive keys", "", err)
	}
	return nil
}

// LoadStore builds the logger, AWS configuration and store only, for
// functions that neither issue tokens nor page with cursors (the sign-up
// trigger: no Secrets Manager call in its cold start, which counts
// against Cognito's 5-second limit, and no permission to read the key).
func LoadStore(ctx context.Context, function string, env Env) *App {
	log := loadEnv(function, env)
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		_ = logFailure(log, "load aws config", "", err)
		os.Exit(1)
	}
	return &App{Log: log, AWS: cfg, DB: dynamo.New(dynamodb.NewFromConfig(cfg), env.appBase().Tables.store())}
}

// logFailure writes the one line a failed init leaves: the step, the
// service it depended on ("" = none, a local step) and the error. The
// errors here come from the SDK and config, never carry the key itself.
func logFailure(log *slog.Logger, step, dependency string, err error) error {
	attrs := []any{"step", step}
	if dependency != "" {
		attrs = append(attrs, "dependency", dependency)
	}
	log.Error("init failed", append(attrs, "err", err.Error())...)
	return err
}
