package main

import (
	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/push"
)

// envConfig is what push reads from its environment (template.yaml,
// PushFunction); app.Load reads it once at init. The signing key is read
// for the conversation cursors the badge count pages with.
type envConfig struct {
	app.Base
	app.Keys
	Platforms Platforms
	// Realtime: broadcasts reach online users over WebSocket and queue
	// their jobs on PUSH_QUEUE_URL.
	Realtime      app.Realtime
	RetentionDays int `env:"NOTIFICATION_RETENTION_DAYS"`
}

// Platforms says where each platform's pushes go: the SNS platform
// applications (empty: that platform is not set up, its devices are
// skipped) and the Web Push VAPID key's secret and subject.
type Platforms struct {
	APNs           string `env:"APNS_PLATFORM_APPLICATION_ARN"`
	APNsSandbox    string `env:"APNS_SANDBOX_PLATFORM_APPLICATION_ARN"`
	FCM            string `env:"FCM_PLATFORM_APPLICATION_ARN"`
	VapidSecretARN string `env:"VAPID_SECRET_ARN"`
	VapidSubject   string `env:"VAPID_SUBJECT"`
	// RecorderURL (local development only) replaces every platform with
	// the local stack's push recorder.
	RecorderURL string `env:"PUSH_RECORDER_URL"`
}

// Apps maps the mobile platforms that are set up to their application ARN.
func (p Platforms) Apps() map[push.Platform]string {
	out := map[push.Platform]string{}
	for pl, arn := range map[push.Platform]string{push.APNs: p.APNs, push.APNsSandbox: p.APNsSandbox, push.FCM: p.FCM} {
		if arn != "" {
			out[pl] = arn
		}
	}
	return out
}

// newConfig returns the configuration with its defaults, kept for the
// variables that are unset.
func newConfig() *envConfig { return &envConfig{} }
