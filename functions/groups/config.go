package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what groups reads from its environment (template.yaml,
// GroupsFunction): a chat-serving function's; app.Load reads it once at init.
type envConfig = app.ChatService

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
