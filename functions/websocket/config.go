package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what websocket reads from its environment (template.yaml,
// WebSocketFunction): a chat-serving function's; app.Load reads it once at init.
type envConfig struct {
	app.ChatService
	PreSend app.PreSendHook
	// Attachments is the uploads bucket the attachments guard checks (issue 16).
	Attachments app.Attachments
	// Audit: grants used over the socket (post_any_group, edit_any_message).
	Audit audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
