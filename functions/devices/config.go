package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what devices reads from its environment (template.yaml,
// DevicesFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	REST app.REST
	// VapidSecretARN is the Web Push key seed (VapidKeySecret); its public
	// key is served at GET /v1/push/web.
	VapidSecretARN string `env:"VAPID_SECRET_ARN"`
	Audit          audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
