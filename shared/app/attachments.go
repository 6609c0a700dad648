package app

import (
	"context"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/s3"
	"github.com/tokenim/tokenim/shared/chat"
)

// Attachments names the uploads bucket (template UploadsBucket) for the
// send paths' attachments guard.
type Attachments struct {
	Bucket string `env:"UPLOADS_BUCKET"`
}

// AttachmentsGuard is the send guard that checks and marks a message's
// attachments (shared/attachments). Chain it last. Without a bucket,
// messages with attachments are refused rather than stored unchecked.
func (a *App) AttachmentsGuard(c Attachments) chat.SendGuard {
	if c.Bucket == "" {
		return chat.SendGuardFunc(func(_ context.Context, sc chat.SendCheck) (chat.SendContent, error) {
			if len(sc.Content.Attachments) > 0 {
				return chat.SendContent{}, apierror.New(apierror.ValidationFailed, "Attachments are not set up on this deployment.").
					WithDetails(map[string]string{"field": "attachments"})
			}
			return sc.Content, nil
		})
	}
	return a.attachments(c).Guard()
}

// ChatStore is the send paths' chat store: with a bucket, a recall
// deletes the recalled message's files (attachments.RecallStore).
func (a *App) ChatStore(c Attachments) chat.Store {
	if c.Bucket == "" {
		return a.DB.Chat
	}
	return a.attachments(c).RecallStore(a.DB.Chat)
}

func (a *App) attachments(c Attachments) *attachments.Service {
	return attachments.NewService(dynamo.NewUploads(a.DB.Client(), a.DB.Tables()), s3.New(a.AWS, c.Bucket), nil, attachments.Config{},
		attachments.Options{Log: a.Log})
}
