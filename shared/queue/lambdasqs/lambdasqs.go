// Package lambdasqs adapts a queue.Runner to a Lambda function fed by an
// SQS event source with ReportBatchItemFailures: SQS records become
// queue.Records, failed ids become batchItemFailures.
package lambdasqs

import (
	"context"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/queue"
)

// HandlerFunc is the Lambda handler signature (lambda.Start takes it).
type HandlerFunc func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Handler returns the Lambda handler running r. It never returns an
// error: that would redeliver the records that succeeded too.
func Handler(r *queue.Runner) HandlerFunc {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		res := r.Run(ctx, Records(ev))
		resp := events.SQSEventResponse{BatchItemFailures: make([]events.SQSBatchItemFailure, 0, len(res.Failed))}
		for _, id := range res.Failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		return resp, nil
	}
}

// Records converts an SQS event's records.
func Records(ev events.SQSEvent) []queue.Record {
	recs := make([]queue.Record, len(ev.Records))
	for i, m := range ev.Records {
		n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]) // absent: 0
		recs[i] = queue.Record{ID: m.MessageId, Body: m.Body, Attributes: m.Attributes, ReceiveCount: n,
			Source: m.EventSourceARN, Receipt: m.ReceiptHandle}
	}
	return recs
}
