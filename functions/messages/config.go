package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what messages reads from its environment (template.yaml,
// MessagesFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	app.Keys
	Chat     app.Chat
	Realtime app.Realtime
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
