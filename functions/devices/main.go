// Command devices serves a user's push devices and push settings
// (docs/push.md).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sns"
	"github.com/tokenim/tokenim/shared/aws/webpush"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/push"
)

func main() {
	ctx := context.Background()
	// No signing key: this function issues no tokens and pages with no
	// cursors. It reads the VAPID seed only to derive the public key.
	cfg := newConfig()
	a := app.LoadStore(ctx, "devices", cfg)
	vapid := ""
	if cfg.VapidSecretARN != "" {
		seed, err := config.SigningKey(ctx, a.AWS, cfg.VapidSecretARN)
		if err != nil {
			a.Log.Error("init failed", "step", "load VAPID key", "dependency", config.SigningKeyDependency, "err", err.Error())
			os.Exit(1)
		}
		if vapid, _, err = webpush.Keys(seed); err != nil {
			a.Log.Error("init failed", "step", "derive VAPID key", "err", err.Error())
			os.Exit(1)
		}
	}
	store := dynamo.NewPush(a.DB.Client(), a.DB.Tables())
	// A deleted device's SNS endpoint is deleted too (no platform
	// application is needed for that).
	devices := push.NewDevices(store, a.DB.Users, a.Log, nil).WithEndpoints(sns.New(awssns.NewFromConfig(a.AWS), nil))
	rec := audit.NewRecorder(dynamo.NewAudit(a.DB.Client(), cfg.Audit.Table), cfg.Audit.Retention(), a.Log, nil)
	h := NewHandler(devices, push.NewSettings(store, a.DB.Users, nil), vapid, rec, a.Log)
	lambda.Start(h.WithCORS(cfg.REST.CORS()).Handle)
}
