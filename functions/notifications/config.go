package main

import (
	"time"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/push"
)

// envConfig is what notifications reads from its environment
// (template.yaml, NotificationsFunction); app.LoadStore reads it at init.
type envConfig struct {
	app.Base
	REST       app.REST
	Broadcasts Broadcasts
	Audit      audit.Env
}

// Broadcasts are the broadcast limits and the queue jobs go to.
type Broadcasts struct {
	PushQueueURL  string `env:"PUSH_QUEUE_URL,required,notEmpty"`
	PerDay        int    `env:"NOTIFICATIONS_PER_DAY"`
	RetentionDays int    `env:"NOTIFICATION_RETENTION_DAYS"`
}

// Config is the push.BroadcastConfig (zero values take push's defaults).
func (b Broadcasts) Config() push.BroadcastConfig {
	return push.BroadcastConfig{PerDay: b.PerDay, Retention: time.Duration(b.RetentionDays) * 24 * time.Hour}
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
