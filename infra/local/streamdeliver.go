package local

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/infra/local/runtime"
)

// deliver hands one batch of a shard to the function and returns when
// every record in it was processed or given up on, so the shard's next
// records wait behind it (Lambda's per-shard order). As on Lambda:
//   - success, or an empty failure list, processes the whole batch;
//   - with ReportBatchItemFailures, the records from the first failed
//     itemIdentifier (a SequenceNumber) on are retried; an empty or
//     unknown identifier, or an unreadable reply, fails the whole batch;
//   - a function error (error, crash, timeout) fails the whole batch; with
//     BisectBatchOnFunctionError it is split in two halves, each retried
//     on its own, and a split does not count as a retry;
//   - after MaximumRetryAttempts failed retries of the same first record
//     the remaining batch goes to the OnFailure destination (a record of
//     the batch, not its data) and the shard moves on.
func (p *StreamPoller) deliver(ctx context.Context, shard string, batch []streamRecord) {
	log := p.Log.With("shard", shard)
	todo := [][]streamRecord{batch}
	attempts := 0 // failed invocations since the first record of todo[0] last changed
	for len(todo) > 0 && ctx.Err() == nil {
		b := todo[0]
		failed, invokeErr := p.invoke(ctx, b)
		if ctx.Err() != nil {
			return // the stack is stopping: nothing is recorded locally
		}
		if failed < 0 {
			log.Info("stream batch done", "records", len(b))
			todo, attempts = todo[1:], 0
			continue
		}
		throttled := runtime.KindOf(invokeErr) == runtime.Throttled
		switch {
		case failed > 0: // the records before the first failure are done
			log.Info("stream batch partly failed; retrying from the first failure", "records", len(b), "done", failed)
			b = b[failed:]
			todo[0], attempts = b, 1
		case invokeErr != nil && p.Source.Bisect && len(b) > 1 && !throttled:
			log.Warn("stream batch failed; bisecting", "records", len(b), "err", invokeErr.Error())
			half := len(b) / 2
			todo = append([][]streamRecord{b[:half], b[half:]}, todo[1:]...)
			continue
		case throttled: // a throttle is no failure of the function
			log.Warn("stream batch throttled; retrying", "records", len(b))
		default:
			attempts++
			log.Warn("stream batch failed", "records", len(b), "attempt", attempts, "err", errText(invokeErr))
		}
		if limit := p.Source.MaxRetries; limit >= 0 && attempts > limit {
			p.onFailure(ctx, shard, b, attempts, invokeErr, log)
			todo, attempts = todo[1:], 0
			continue
		}
		if !sleep(ctx, backoff(p.Interval, max(attempts, 1))) {
			return
		}
	}
}

// invoke runs the function on a batch. failed is -1 when every record was
// processed, else the index of the first record to retry (0: all).
func (p *StreamPoller) invoke(ctx context.Context, b []streamRecord) (failed int, err error) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(b))}
	for i, r := range b {
		ev.Records[i] = r.DynamoDBEventRecord
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	out, err := p.Fn.Invoke(ctx, payload)
	if err != nil {
		return 0, err
	}
	if !p.Source.ReportFailures || len(out) == 0 || string(out) == "null" {
		return -1, nil
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, errors.New("the batch response is not a DynamoDBEventResponse")
	}
	failed = -1
	for _, f := range resp.BatchItemFailures {
		i := indexOfSequence(b, f.ItemIdentifier)
		if i < 0 {
			return 0, fmt.Errorf("the batch response names an unknown item %q", f.ItemIdentifier)
		}
		if failed < 0 || i < failed {
			failed = i
		}
	}
	return failed, nil
}

func indexOfSequence(b []streamRecord, seq string) int {
	for i, r := range b {
		if seq != "" && r.Change.SequenceNumber == seq {
			return i
		}
	}
	return -1
}

// onFailureRecord is what Lambda sends to a stream mapping's OnFailure
// destination: where the batch was and why it was given up on, not the
// records themselves (a consumer reads them from the stream).
type onFailureRecord struct {
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	Version   string              `json:"version"`
	Timestamp string              `json:"timestamp"`
	BatchInfo streamBatchFailInfo `json:"DDBStreamBatchInfo"`
}

type streamBatchFailInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamARN                       string `json:"streamArn"`
}

func (p *StreamPoller) onFailure(ctx context.Context, shard string, b []streamRecord, invokes int, invokeErr error, log *slog.Logger) {
	first, last := b[0], b[len(b)-1]
	var rec onFailureRecord
	rec.RequestContext.RequestID = requestIDOf(invokeErr)
	rec.RequestContext.FunctionARN = p.FunctionARN
	rec.RequestContext.Condition = "RetryAttemptsExhausted"
	rec.RequestContext.ApproximateInvokeCount = invokes
	rec.ResponseContext.StatusCode = 200
	rec.ResponseContext.ExecutedVersion = "$LATEST"
	if invokeErr != nil {
		rec.ResponseContext.FunctionError = "Unhandled"
	}
	rec.Version = "1.0"
	rec.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	rec.BatchInfo = streamBatchFailInfo{ShardID: shard, StartSequenceNumber: first.Change.SequenceNumber, EndSequenceNumber: last.Change.SequenceNumber,
		ApproximateArrivalOfFirstRecord: first.arrived.UTC().Format(time.RFC3339), ApproximateArrivalOfLastRecord: last.arrived.UTC().Format(time.RFC3339),
		BatchSize: len(b), StreamARN: p.StreamARN}
	log = log.With("start_sequence_number", rec.BatchInfo.StartSequenceNumber, "records", len(b))
	if p.OnFailureURL == "" {
		log.Warn("stream batch retries exhausted; no OnFailure destination, records skipped")
		return
	}
	body, err := json.Marshal(rec)
	if err == nil {
		_, err = p.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.OnFailureURL), MessageBody: aws.String(string(body))})
	}
	if err != nil {
		log.Error("stream batch retries exhausted; sending to the OnFailure destination failed, records skipped", "err", err.Error())
		return
	}
	log.Warn("stream batch retries exhausted; sent to the OnFailure destination")
}

// requestIDOf is the failed invocation's request id, or a fresh one when
// the last failure was a partial batch failure (a successful invoke whose
// id the Invoker does not return).
func requestIDOf(err error) string {
	var fe *runtime.Error
	if errors.As(err, &fe) && fe.RequestID != "" {
		return fe.RequestID
	}
	return rand.Text()
}

func errText(err error) string {
	if err == nil {
		return "partial batch failure"
	}
	return err.Error()
}
