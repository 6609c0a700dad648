package main

import (
	"github.com/tokenim/tokenim/shared/app"
)

// envConfig is what cognitosignup reads from its environment (template.yaml,
// CognitoSignupFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	Signup           app.SignupMapping
	SignupQueueURL   string `env:"SIGNUP_QUEUE_URL,required,notEmpty"`
	MetricsNamespace string `env:"METRICS_NAMESPACE"`
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
