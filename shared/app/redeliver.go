package app

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/queue"
)

// Redeliverer is what every SQS worker's queue.Runner uses to bring a
// failed record back after queue.RetryDelay instead of the queue's
// visibility timeout (the function needs sqs:ChangeMessageVisibility on
// its queue).
func Redeliverer(cfg aws.Config) queue.Redeliverer {
	return sqsqueue.NewVisibility(sqs.NewFromConfig(cfg))
}
