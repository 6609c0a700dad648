package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what groups reads from its environment (template.yaml,
// GroupsFunction): a chat-serving function's, and the audit log's (admin
// tokens' changes and grants used); app.Load reads it once at init.
type envConfig struct {
	app.ChatService
	REST  app.REST
	Audit audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
