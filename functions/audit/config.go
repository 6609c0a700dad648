package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what audit reads from its environment (template.yaml,
// AuditFunction); app.LoadStore reads it once at init (no signing key:
// the function issues no token and pages with the log's own ids).
type envConfig struct {
	app.Base
	REST       app.REST
	AuditTable string `env:"AUDIT_TABLE,required,notEmpty"`
}

// newConfig returns the configuration with its defaults.
func newConfig() *envConfig { return &envConfig{} }
