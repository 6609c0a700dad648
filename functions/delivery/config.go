package main

import (
	"time"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/chat"
)

// envConfig is what delivery reads from its environment (template.yaml,
// DeliveryFunction); app.LoadStore reads it once at init. It issues no
// tokens and pages with no cursors, so it reads no signing key.
type envConfig struct {
	app.Base
	Realtime          app.Realtime
	RepairQueueURL    string `env:"DELIVERY_REPAIR_QUEUE_URL,required,notEmpty"`
	PendingAgeSeconds int    `env:"DELIVERY_PENDING_AGE_SECONDS"`
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig {
	return &envConfig{PendingAgeSeconds: int(chat.DefaultPendingAge / time.Second)}
}

// pendingAge is how long the backstop lets a sender finish.
func (c *envConfig) pendingAge() time.Duration {
	return time.Duration(c.PendingAgeSeconds) * time.Second
}
