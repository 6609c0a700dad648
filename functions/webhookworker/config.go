package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/webhooks"
)

// envConfig is what webhookworker reads from its environment
// (template.yaml, WebhookWorkerFunction); app.LoadStore reads it once at
// init.
type envConfig struct {
	app.Base
	Webhooks webhooks.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
