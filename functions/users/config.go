package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what users reads from its environment (template.yaml,
// UsersFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	REST app.REST
	app.Keys
	Realtime app.Realtime
	Audit    audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
