package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/infra/template"
)

// DefaultStreamInterval is how long a stream poller waits before asking
// an idle shard again. Lambda polls each shard about four times a second;
// 200 ms keeps local delivery within a few hundred milliseconds of the
// write while costing the emulator five cheap calls a second per shard.
const DefaultStreamInterval = 200 * time.Millisecond

// shardDiscovery is how often the poller lists the stream's shards (a
// DynamoDB stream splits a shard every few hours; emulators rarely do).
const shardDiscovery = 2 * time.Second

// streamCallTimeout bounds each call to the emulator's streams API.
const streamCallTimeout = 30 * time.Second

// StreamsAPI is the part of the DynamoDB Streams API a stream poller
// uses (*dynamodbstreams.Client).
type StreamsAPI interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// StreamPoller is Lambda's event source mapping for one DynamoDB stream
// event: it reads every shard of the table's stream (one goroutine per
// shard, records of a shard in order, a child shard after its parent),
// drops the records that match none of the event's filters, batches by
// BatchSize and the batching window, and invokes the function with an
// events.DynamoDBEvent, retrying as Lambda does (streamdeliver.go).
type StreamPoller struct {
	Source      template.DynamoDBSource
	StreamARN   string
	FunctionARN string // for the OnFailure record
	Region      string
	Client      StreamsAPI
	Fn          Invoker
	Log         *slog.Logger
	// SQS and OnFailureURL send batches whose retries are exhausted to
	// DestinationConfig.OnFailure ("" : they are dropped, as on Lambda).
	SQS          *sqs.Client
	OnFailureURL string
	// Interval is the wait between polls of an idle shard and the base
	// of the retry backoff (DefaultStreamInterval when 0).
	Interval time.Duration

	filter *recordFilter
}

// NewStreamPoller checks the event's filter patterns: one the local
// matcher cannot run fails the stack's start rather than letting every
// record through.
func NewStreamPoller(p StreamPoller) (*StreamPoller, error) {
	f, err := newRecordFilter(p.Source.Filters)
	if err != nil {
		return nil, err
	}
	p.filter = f
	if p.Interval <= 0 {
		p.Interval = DefaultStreamInterval
	}
	p.Log = p.Log.With("function", p.Source.Function, "event", p.Source.Event)
	return &p, nil
}

// Run polls until ctx ends, then waits for its shard readers.
func (p *StreamPoller) Run(ctx context.Context) {
	var readers sync.WaitGroup
	defer readers.Wait()
	done := map[string]chan struct{}{} // shard id -> closed when its reader ends
	first := true
	for ctx.Err() == nil {
		shards, err := p.shards(ctx)
		if err != nil && ctx.Err() == nil {
			p.Log.Warn("stream describe failed", "err", err.Error())
		}
		for _, sh := range shards {
			id := aws.ToString(sh.ShardId)
			if done[id] != nil {
				continue
			}
			// LATEST applies to the shards open when the mapping starts;
			// a shard born later is read from its start, as on Lambda.
			pos := types.ShardIteratorTypeTrimHorizon
			if first && p.Source.StartingPosition == "LATEST" {
				pos = types.ShardIteratorTypeLatest
			}
			parent := done[aws.ToString(sh.ParentShardId)] // nil: no parent, or trimmed
			finished := make(chan struct{})
			done[id] = finished
			r := &shardReader{p: p, shard: id, start: pos, filter: p.filter.forShard()}
			readers.Go(func() {
				defer close(finished)
				if parent != nil {
					select {
					case <-parent:
					case <-ctx.Done():
						return
					}
				}
				r.run(ctx)
			})
		}
		if err == nil {
			first = false
		}
		if !sleep(ctx, shardDiscovery) {
			return
		}
	}
}

// shards lists the stream's shards, parents before children.
func (p *StreamPoller) shards(ctx context.Context) ([]types.Shard, error) {
	var out []types.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.StreamARN)}
	for range 100 { // pages of 100 shards; a local stream has a handful
		dctx, cancel := context.WithTimeout(ctx, streamCallTimeout)
		d, err := p.Client.DescribeStream(dctx, in)
		cancel()
		if err != nil {
			return out, err
		}
		out = append(out, d.StreamDescription.Shards...)
		if d.StreamDescription.LastEvaluatedShardId == nil {
			break
		}
		in.ExclusiveStartShardId = d.StreamDescription.LastEvaluatedShardId
	}
	return out, nil
}

// streamRecord is a record read from a shard, in Lambda's shape.
type streamRecord struct {
	events.DynamoDBEventRecord
	arrived time.Time
	size    int // bytes of its JSON
}

// batchCut is how many of pending make the next batch: at most size
// records whose JSON fits in Lambda's 6 MB invocation payload (at least
// one, which Lambda would refuse too and the function then reports).
func batchCut(pending []streamRecord, size int) int {
	n, total := 0, len(`{"Records":[]}`)
	for n < len(pending) && n < size {
		total += pending[n].size + 1
		if n > 0 && total > MaxInvokePayload {
			break
		}
		n++
	}
	return n
}

// shardReader reads one shard in order and hands its batches to deliver.
type shardReader struct {
	p      *StreamPoller
	shard  string
	start  types.ShardIteratorType
	filter *recordFilter
	// read is the sequence number of the last record read: an expired
	// iterator is replaced by one after it.
	read string
}

func (r *shardReader) run(ctx context.Context) {
	p := r.p
	log := p.Log.With("shard", r.shard)
	size := p.Source.BatchSize
	window := time.Duration(p.Source.BatchWindow) * time.Second
	var pending []streamRecord
	var windowEnd time.Time
	iter, open := "", true
	errs := 0
	for ctx.Err() == nil {
		if !open && len(pending) == 0 {
			return // the shard is closed and everything in it was handled
		}
		got := 0
		if open && len(pending) < size {
			if iter == "" {
				it, err := r.iterator(ctx)
				if err != nil {
					errs++
					if ctx.Err() == nil {
						log.Warn("stream iterator failed", "err", err.Error())
					}
					if !sleep(ctx, backoff(p.Interval, errs)) {
						return
					}
					continue
				}
				iter = it
			}
			// Bounded: an emulator that stops answering (moto under load
			// did) must not stall the trigger for good (issue 21's load test).
			rctx, cancel := context.WithTimeout(ctx, streamCallTimeout)
			out, err := p.Client.GetRecords(rctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(iter), Limit: aws.Int32(int32(min(size-len(pending), 1000)))})
			cancel()
			if err != nil {
				errs++
				iter = "" // expired or trimmed: ask again from the last record read
				if ctx.Err() == nil {
					log.Warn("stream read failed", "err", err.Error())
				}
				if !sleep(ctx, backoff(p.Interval, errs)) {
					return
				}
				continue
			}
			errs = 0
			got = len(out.Records)
			iter = aws.ToString(out.NextShardIterator)
			open = iter != ""
			for _, rec := range out.Records {
				sr, keep := r.accept(rec, log)
				if !keep {
					continue
				}
				if len(pending) == 0 {
					windowEnd = time.Now().Add(window)
				}
				pending = append(pending, sr)
			}
		}
		if len(pending) > 0 && (len(pending) >= size || batchCut(pending, size) < len(pending) || !time.Now().Before(windowEnd) || !open) {
			n := batchCut(pending, size)
			p.deliver(ctx, r.shard, pending[:n])
			pending = pending[n:]
			windowEnd = time.Now() // what is left over was already waiting
			continue
		}
		if got > 0 {
			continue // more may be waiting behind these
		}
		wait := p.Interval
		if len(pending) > 0 {
			wait = min(wait, max(time.Until(windowEnd), time.Millisecond))
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// accept converts a record and applies the filters: a record that
// matches none is dropped and never reaches the function.
func (r *shardReader) accept(rec types.Record, log *slog.Logger) (streamRecord, bool) {
	p := r.p
	if rec.Dynamodb != nil {
		r.read = aws.ToString(rec.Dynamodb.SequenceNumber)
	}
	var raw []byte
	lr, err := lambdaRecord(rec, p.StreamARN, p.Region)
	if err == nil {
		if raw, err = json.Marshal(lr); err == nil {
			var ok bool
			if ok, err = r.filter.match(raw); err == nil && !ok {
				return streamRecord{}, false
			}
		}
	}
	if err != nil { // Lambda cannot read it either: it drops it
		log.Warn("stream record unreadable; dropped", "sequence_number", r.read, "err", err.Error())
		return streamRecord{}, false
	}
	return streamRecord{DynamoDBEventRecord: lr, arrived: lr.Change.ApproximateCreationDateTime.Time, size: len(raw)}, true
}

// iterator starts reading where the shard reader is: after the last
// record read, else at the starting position.
func (r *shardReader) iterator(ctx context.Context) (string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.p.StreamARN), ShardId: aws.String(r.shard), ShardIteratorType: r.start}
	if r.read != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(r.read)
	}
	ctx, cancel := context.WithTimeout(ctx, streamCallTimeout)
	defer cancel()
	out, err := r.p.Client.GetShardIterator(ctx, in)
	if err != nil {
		return "", err
	}
	if out.ShardIterator == nil {
		return "", errors.New("no shard iterator returned")
	}
	return *out.ShardIterator, nil
}

// backoff is base doubled per consecutive failure, at most 5 s.
func backoff(base time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startStreams starts one poller per enabled `Type: DynamoDB` event of
// the template; an event the local stack cannot honour fails the start.
func (s *Stack) startStreams(ctx context.Context, o Options, invokers map[string]Invoker) error {
	srcs, err := o.Template.DynamoDBSources()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	client := dynamodbstreams.NewFromConfig(o.AWS)
	queues := sqs.NewFromConfig(o.AWS)
	for _, src := range srcs {
		if !src.Enabled {
			continue
		}
		arn := s.Resources.StreamARNs[src.Table]
		if arn == "" {
			return fmt.Errorf("local: %s.%s: table %s has no stream on the emulator", src.Function, src.Event, src.Table)
		}
		p, err := NewStreamPoller(StreamPoller{Source: src, StreamARN: arn, Region: o.Region, Client: client, Fn: invokers[src.Function],
			FunctionARN: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s-%s", o.Region, o.AccountID, o.StackName, src.Function),
			SQS:         queues, OnFailureURL: s.Resources.QueueURLs[src.OnFailureQueue], Interval: o.StreamInterval,
			Log: o.Log.With("trigger", "dynamodb")})
		if err != nil {
			return fmt.Errorf("local: %s.%s: %w", src.Function, src.Event, err)
		}
		s.Streams = append(s.Streams, p)
		s.pollers.Go(func() { p.Run(ctx) })
	}
	return nil
}
