package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/batch"
)

// envConfig is what batchworker reads from its environment (template.yaml,
// BatchWorkerFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	app.Keys
	Chat     app.Chat
	Realtime app.Realtime
	// Parallelism bounds the chunk's concurrent row writes.
	Parallelism int `env:"BATCH_WRITE_PARALLELISM"`
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{Parallelism: batch.DefaultParallelism} }
