package testenv

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/shared/aws/sqsqueue"
	"github.com/tokenim/tokenim/shared/batch/batchtest"
	"github.com/tokenim/tokenim/shared/queue"
)

// Poller is the event source mapping of the template queue name (its
// logical id, e.g. "BatchQueue") onto handler: it reads the memqueue on the
// memory backend and the provisioned SQS queue on AWS, so an SQS-triggered
// handler's tests run on both. Set Visibility, BatchSize or Sandbox on the
// result as needed.
func (e *Env) Poller(name string, handler any) *batchtest.Poller {
	if e.Memory != nil {
		q := e.MemQueue(name)
		if q == nil {
			panic(fmt.Sprintf("testenv: template.yaml has no queue %q", name)) // a test bug, at setup
		}
		return &batchtest.Poller{Mem: q, QueueARN: "arn:aws:sqs:us-east-1:000000000000:" + name, Handler: handler}
	}
	return &batchtest.Poller{SQS: sqs.NewFromConfig(e.Cfg), QueueURL: e.Res.QueueURLs[name], QueueARN: e.Res.QueueARNs[name], Handler: handler}
}

// QueueLen is how many messages the template queue name holds: all of them
// on memory, the visible ones on AWS (ApproximateNumberOfMessages; 0 if
// SQS cannot say).
func (e *Env) QueueLen(ctx context.Context, name string) int {
	if e.Memory != nil {
		return e.MemQueue(name).Len()
	}
	url := e.Res.QueueURLs[name]
	out, err := sqs.NewFromConfig(e.Cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// Redeliverer is what the deployed workers use to schedule a failed
// record's redelivery (app.Redeliverer): SQS visibility changes on AWS;
// nil on memory, whose queues redeliver after their visibility timeout.
func (e *Env) Redeliverer() queue.Redeliverer {
	if e.Memory != nil {
		return nil
	}
	return sqsqueue.NewVisibility(sqs.NewFromConfig(e.Cfg))
}
