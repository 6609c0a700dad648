package webhooks

// Env is what the webhook functions read (template.yaml sets it for
// WebhooksFunction and WebhookWorkerFunction).
type Env struct {
	Table    string `env:"WEBHOOKS_TABLE,required,notEmpty"`
	QueueURL string `env:"WEBHOOK_QUEUE_URL,required,notEmpty"`
	// AllowHTTP admits http:// and 127.0.0.1 targets (template parameter
	// LocalHttpTargets: the local stack only, never the cloud).
	AllowHTTP bool `env:"LOCAL_HTTP_TARGETS"`
}

// Policy is the target policy the environment asks for.
func (e Env) Policy() Policy { return Policy{AllowLoopback: e.AllowHTTP} }
