package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what jobs reads from its environment (template.yaml,
// JobsFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	REST app.REST
	app.Keys
	Chat          app.Chat
	Realtime      app.Realtime
	Batch         app.BatchLimits
	BatchQueueURL string `env:"BATCH_QUEUE_URL,required,notEmpty"`
	Audit         audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{Batch: app.DefaultBatchLimits()} }
