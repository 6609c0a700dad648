package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
)

// envConfig is what token reads from its environment (template.yaml,
// TokenFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	REST app.REST
	app.Keys
	Cognito app.Cognito
	Signup  app.SignupMapping
	Audit   audit.Env
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
