package audit

import "time"

// Env is what a function that writes the log reads (template.yaml sets
// both for it): the table and the retention.
type Env struct {
	Table         string `env:"AUDIT_TABLE,required,notEmpty"`
	RetentionDays int    `env:"AUDIT_RETENTION_DAYS"`
}

// Retention is RetentionDays as a duration (0: DefaultRetention).
func (e Env) Retention() time.Duration { return time.Duration(e.RetentionDays) * 24 * time.Hour }
