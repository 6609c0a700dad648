package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what users reads from its environment (template.yaml,
// UsersFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	app.Keys
	Realtime app.Realtime
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
