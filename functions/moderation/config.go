package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what moderation reads from its environment (template.yaml,
// ModerationFunction); app.Load reads it once at init. Realtime: a ban
// closes the user's sockets through the @connections endpoint.
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
