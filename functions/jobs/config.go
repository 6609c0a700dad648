package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what jobs reads from its environment (template.yaml,
// JobsFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	app.Keys
	Chat          app.Chat
	Realtime      app.Realtime
	Batch         app.BatchLimits
	BatchQueueURL string `env:"BATCH_QUEUE_URL,required,notEmpty"`
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{Batch: app.DefaultBatchLimits()} }
