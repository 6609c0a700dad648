package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/webhooks"
)

// envConfig is what webhooks reads from its environment (template.yaml,
// WebhooksFunction); app.LoadStore reads it once at init.
type envConfig struct {
	app.Base
	REST     app.REST
	Webhooks webhooks.Env
	Audit    audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
