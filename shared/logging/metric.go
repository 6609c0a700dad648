package logging

import (
	"context"
	"log/slog"
	"time"
)

// Metric logs one CloudWatch Embedded Metric Format record: CloudWatch
// Logs turns the line into a data point of namespace/name (no dimensions)
// without an API call, so alarms in template.yaml can watch it. Locally
// it is just a log line. It logs at ERROR: it counts failures an operator
// must see. attrs add context to the line (never secrets).
func Metric(ctx context.Context, log *slog.Logger, namespace, name string, value float64, msg string, attrs ...any) {
	emf := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  namespace,
			"Dimensions": [][]string{{}},
			"Metrics":    []any{map[string]string{"Name": name, "Unit": "Count"}},
		}},
	}
	log.Log(ctx, slog.LevelError, msg, append([]any{"_aws", emf, name, value}, attrs...)...)
}
