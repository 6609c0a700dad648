package main

import "github.com/tokenim/tokenim/shared/app"

// envConfig is what the events function reads (template.yaml,
// EventsFunction).
type envConfig struct {
	app.Base
	EventBusName string `env:"EVENT_BUS_NAME,required,notEmpty"`
	// Records no event can be derived from go here (with the stream
	// batches Lambda gave up on).
	DeadLetterQueueURL string `env:"EVENTS_DEAD_LETTER_QUEUE_URL,required,notEmpty"`
	// The webhook endpoints (read, cached per sandbox) and the ordered
	// delivery queue their events go to (docs/events.md, "Webhooks").
	WebhooksTable        string `env:"WEBHOOKS_TABLE,required,notEmpty"`
	WebhookEventQueueURL string `env:"WEBHOOK_EVENT_QUEUE_URL,required,notEmpty"`
}

func newConfig() *envConfig { return &envConfig{} }
