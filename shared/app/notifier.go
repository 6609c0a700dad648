package app

import (
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/aws/apigw"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/realtime"
)

// Notifier wires a realtime notifier the way every function does: the
// management API at WS_MANAGEMENT_ENDPOINT, the fan-out queue at
// FANOUT_QUEUE_URL (none: large groups are pushed inline).
func Notifier(cfg aws.Config, s realtime.Store, log *slog.Logger) *realtime.Notifier {
	var q realtime.Queue
	if url := os.Getenv("FANOUT_QUEUE_URL"); url != "" {
		q = realtime.NewJobQueue(sqsqueue.New(sqs.NewFromConfig(cfg), url))
	}
	return realtime.NewNotifier(s, apigw.New(cfg, os.Getenv("WS_MANAGEMENT_ENDPOINT")), q, realtime.ConfigFromEnv(), log)
}
