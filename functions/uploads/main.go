// Command uploads serves presigned uploads (POST /v1/uploads) and
// attachment downloads (docs/openapi.yaml, Attachments).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenim/tokenim/shared/app"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/aws/s3"
	"github.com/tokenim/tokenim/shared/chat"
)

func main() {
	ctx := context.Background()
	cfg := newConfig()
	a := app.Load(ctx, "uploads", cfg)
	access := chat.NewService(a.DB.Chat, a.Cursors, chat.Config{}, chat.Options{})
	svc := attachments.NewService(dynamo.NewUploads(a.DB.Client(), a.DB.Tables()), s3.New(a.AWS, cfg.Bucket), access, cfg.limits(),
		attachments.Options{Log: a.Log})
	lambda.Start(NewHandler(svc, a.Log).WithCORS(cfg.REST.CORS()).Handle)
}
