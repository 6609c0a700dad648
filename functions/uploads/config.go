package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/attachments"
)

// envConfig is what uploads reads from its environment (template.yaml,
// UploadsFunction); app.Load reads it once at init.
type envConfig struct {
	app.Base
	REST app.REST
	app.Keys
	Bucket       string `env:"UPLOADS_BUCKET,required,notEmpty"`
	MaxBytes     int64  `env:"MAX_UPLOAD_BYTES"`
	AllowedTypes string `env:"ALLOWED_CONTENT_TYPES"`
	PerUserDay   int    `env:"UPLOADS_PER_USER_PER_DAY"`
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig {
	return &envConfig{MaxBytes: attachments.DefaultMaxBytes, AllowedTypes: attachments.DefaultAllowedTypes, PerUserDay: attachments.DefaultPerUserDay}
}

// limits is the attachments.Config.
func (c *envConfig) limits() attachments.Config {
	return attachments.Config{MaxBytes: c.MaxBytes, AllowedTypes: attachments.ParseTypes(c.AllowedTypes), PerUserDay: c.PerUserDay}
}
