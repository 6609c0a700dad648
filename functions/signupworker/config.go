package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what signupworker reads from its environment (template.yaml,
// SignupWorkerFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	MetricsNamespace string `env:"METRICS_NAMESPACE"`
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
