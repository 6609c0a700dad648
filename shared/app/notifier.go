package app

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/aws/apigw"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/moderation"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/realtime"
)

// Notifier wires a realtime notifier the way every function does: the
// management API at rt.ManagementEndpoint, the fan-out queue at
// rt.FanoutQueueURL (none: large groups are pushed inline), and offline
// recipients of new messages queued at rt.PushQueueURL (none: no push).
func Notifier(cfg aws.Config, s realtime.Store, rt Realtime, log *slog.Logger) *realtime.Notifier {
	var q realtime.Queue
	if rt.FanoutQueueURL != "" {
		q = realtime.NewJobQueue(sqsqueue.New(sqs.NewFromConfig(cfg), rt.FanoutQueueURL))
	}
	n := realtime.NewNotifier(s, apigw.New(cfg, rt.ManagementEndpoint), q, rt.Config(), log)
	if rt.PushQueueURL != "" {
		n.SetOffline(push.NewEnqueuer(sqsqueue.New(sqs.NewFromConfig(cfg), rt.PushQueueURL), log))
	}
	// A user's group messages are not pushed to those who blocked them
	// (RealtimePushPolicy reads their entries in UsersTable).
	if c, ok := s.(*dynamo.Connections); ok {
		n.SetBlocks(moderation.NewBlockIndex(dynamo.ModerationOf(c), nil))
	}
	return n
}
