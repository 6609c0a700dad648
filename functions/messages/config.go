package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what messages reads from its environment (template.yaml,
// MessagesFunction): a chat-serving function's; app.Load reads it once at init.
type envConfig struct {
	app.ChatService
	REST    app.REST
	PreSend app.PreSendHook
	// Audit: recalls and edits of others' messages, grants used.
	Audit audit.Env
	// Attachments is the uploads bucket the attachments guard checks (issue 16).
	Attachments app.Attachments
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
