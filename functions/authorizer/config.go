package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what authorizer reads from its environment (template.yaml,
// AuthorizerFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	app.Keys
	Audit audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
