// Command push is the offline push worker: it consumes PushQueue and
// pushes new messages to the APNs, FCM and Web Push devices of recipients
// who had no live WebSocket (docs/push.md).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/sns"
	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/aws/webpush"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/push/recorder"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "push", cfg)
	senders := map[push.Platform]push.Sender{}
	if apps := cfg.Platforms.Apps(); len(apps) > 0 {
		s := sns.New(awssns.NewFromConfig(a.AWS), apps)
		for p := range apps {
			senders[p] = s
		}
	}
	if arn := cfg.Platforms.VapidSecretARN; arn != "" {
		// The same bounded Secrets Manager read as the signing key's; the
		// seed is never logged.
		seed, err := config.SigningKey(ctx, a.AWS, arn)
		if err != nil {
			a.Log.Error("init failed", "step", "load VAPID key", "dependency", config.SigningKeyDependency, "err", err.Error())
			os.Exit(1)
		}
		w, err := webpush.New(seed, cfg.Platforms.VapidSubject, nil)
		if err != nil {
			a.Log.Error("init failed", "step", "derive VAPID key", "err", err.Error())
			os.Exit(1)
		}
		senders[push.Web] = w
	}
	if u := cfg.Platforms.RecorderURL; u != "" {
		a.Log.Info("pushes are recorded, not sent (local stack)", "recorder_url", u)
		r := recorder.New(u)
		for _, p := range push.Platforms() {
			senders[p] = r
		}
	}
	store := dynamo.NewPush(a.DB.Client(), a.DB.Tables())
	unread := push.ChatUnread{Chat: chat.NewService(a.DB.Chat, a.Cursors, chat.Config{}, chat.Options{})}
	messages := push.NewDeliverer(store, store, unread, senders, a.Log, nil)
	// The notifier without an offline sink: broadcasts push offline users
	// themselves.
	rt := cfg.Realtime
	rt.PushQueueURL = ""
	live := app.Notifier(a.AWS, a.DB.Connections, rt, a.Log)
	jobs := sqsqueue.New(sqs.NewFromConfig(a.AWS), cfg.Realtime.PushQueueURL)
	audience := push.StoreAudience{Members: a.DB.Connections, Users: a.DB.Users}
	broadcasts := push.NewBroadcaster(store, jobs, audience, live, messages, push.BroadcastConfig{Retention: time.Duration(cfg.RetentionDays) * 24 * time.Hour}, a.Log)
	lambda.Start(NewHandler(push.Worker{Messages: messages, Broadcasts: broadcasts}, a.Log, app.Redeliverer(a.AWS)))
}
