// Package bench measures what TokenIM's operations cost and how fast its
// designs are, and writes docs/benchmarks.md and docs/benchmarks.json
// (make bench, make bench-quick; README, Benchmarks).
package bench

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokenim/tokenim/shared/testenv"
)

// Meter bills every AWS request made through a config it is attached to,
// as AWS bills it: DynamoDB units from the sizes of the items each request
// touched (not from what an emulator reports: moto reports no capacity
// for transactions and sizes whole partitions per Query), SQS requests by
// 64 KB of payload, WebSocket messages (PostToConnection) by 32 KB.
//
// Item sizes come from the requests and replies, and where those do not
// carry the whole item (an update, a delete, a projected or filtered read)
// from reads of the item before and after on an uncounted side client. So
// a metered config is for measuring, never for timing.
type Meter struct {
	side *dynamodb.Client

	mu       sync.Mutex
	keys     map[string][]string // table name -> key attribute names
	requests map[string]int      // "Service.Operation" -> calls
	readBy   map[string]float64  // "Service.Operation" -> read units
	read     float64
	write    float64
	sqs      int
	wsOut    int
}

// NewMeter returns a meter whose side reads use the uncounted cfg.
func NewMeter(cfg aws.Config) *Meter {
	return &Meter{side: dynamodb.NewFromConfig(cfg), keys: map[string][]string{}, requests: map[string]int{}, readBy: map[string]float64{}}
}

// Attach returns a copy of cfg whose every client is metered by m.
func (m *Meter) Attach(cfg aws.Config) aws.Config {
	c := cfg.Copy()
	c.APIOptions = append(c.APIOptions, m.register)
	return c
}

// Metered is what a meter has billed since its last Reset.
type Metered struct {
	Requests          map[string]int
	ReadByOp          map[string]float64 // read units by "Service.Operation"
	ReadUnits         float64
	WriteUnits        float64
	SQSRequests       int // billed (64 KB steps)
	WebSocketMessages int // PostToConnection, billed (32 KB steps)
}

// Snapshot returns what m billed so far.
func (m *Meter) Snapshot() Metered {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := make(map[string]int, len(m.requests))
	for k, v := range m.requests {
		r[k] = v
	}
	rb := make(map[string]float64, len(m.readBy))
	for k, v := range m.readBy {
		rb[k] = v
	}
	return Metered{Requests: r, ReadByOp: rb, ReadUnits: m.read, WriteUnits: m.write, SQSRequests: m.sqs, WebSocketMessages: m.wsOut}
}

// Reset zeroes the counts.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = map[string]int{}
	m.readBy = map[string]float64{}
	m.read, m.write, m.sqs, m.wsOut = 0, 0, 0, 0
}

func (m *Meter) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tokenim.bench.meter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			before := m.before(ctx, in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			r, w, s, ws := m.bill(ctx, in.Parameters, out.Result, before, err)
			m.mu.Lock()
			m.requests[op]++
			if r > 0 {
				m.readBy[op] += r
			}
			m.read += r
			m.write += w
			m.sqs += s
			m.wsOut += ws
			m.mu.Unlock()
			return out, md, err
		}), middleware.Before)
}

// image is an item's size before a write (0: no item).
type image map[string]int

func (m *Meter) before(ctx context.Context, params any) image {
	img := image{}
	add := func(table string, key map[string]types.AttributeValue) {
		img[keyString(table, key)] = m.size(ctx, table, key)
	}
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		add(aws.ToString(in.TableName), m.keyOf(ctx, aws.ToString(in.TableName), in.Item))
	case *dynamodb.UpdateItemInput:
		add(aws.ToString(in.TableName), in.Key)
	case *dynamodb.DeleteItemInput:
		add(aws.ToString(in.TableName), in.Key)
	case *dynamodb.BatchWriteItemInput:
		for t, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					add(t, m.keyOf(ctx, t, r.PutRequest.Item))
				} else if r.DeleteRequest != nil {
					add(t, r.DeleteRequest.Key)
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			t, key, _ := txTarget(ctx, m, it)
			add(t, key)
		}
	}
	return img
}

// bill returns read units, write units, SQS requests and WebSocket
// messages for one call.
func (m *Meter) bill(ctx context.Context, params, result any, img image, callErr error) (r, w float64, s, ws int) {
	written := func(table string, key map[string]types.AttributeValue, newSize int, tx bool) float64 {
		if newSize < 0 { // an update or delete: read what is there now
			newSize = m.size(ctx, table, key)
		}
		return testenv.WriteUnits(max(img[keyString(table, key)], newSize), tx)
	}
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		t := aws.ToString(in.TableName)
		w = written(t, m.keyOf(ctx, t, in.Item), ItemSize(in.Item), false)
	case *dynamodb.UpdateItemInput:
		w = written(aws.ToString(in.TableName), in.Key, -1, false)
	case *dynamodb.DeleteItemInput:
		w = written(aws.ToString(in.TableName), in.Key, 0, false)
	case *dynamodb.BatchWriteItemInput:
		for t, reqs := range in.RequestItems {
			for _, q := range reqs {
				if q.PutRequest != nil {
					w += written(t, m.keyOf(ctx, t, q.PutRequest.Item), ItemSize(q.PutRequest.Item), false)
				} else if q.DeleteRequest != nil {
					w += written(t, q.DeleteRequest.Key, 0, false)
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			t, key, size := txTarget(ctx, m, it)
			w += written(t, key, size, true)
		}
	case *dynamodb.GetItemInput:
		size := 0
		if out, ok := result.(*dynamodb.GetItemOutput); ok && out != nil && in.ProjectionExpression == nil {
			size = ItemSize(out.Item)
		} else {
			size = m.size(ctx, aws.ToString(in.TableName), in.Key)
		}
		r = testenv.ReadUnits(size, aws.ToBool(in.ConsistentRead), false)
	case *dynamodb.BatchGetItemInput:
		// Each requested key is its own read, rounded on its own; a key
		// that finds nothing is billed the minimum. Without a projection
		// the reply carries the whole items.
		out, _ := result.(*dynamodb.BatchGetItemOutput)
		for t, ka := range in.RequestItems {
			got := map[string]int{}
			if out != nil && ka.ProjectionExpression == nil {
				for _, it := range out.Responses[t] {
					got[keyString(t, m.keyOf(ctx, t, it))] = ItemSize(it)
				}
			}
			for _, key := range ka.Keys {
				size, ok := got[keyString(t, key)]
				if !ok && ka.ProjectionExpression != nil {
					size = m.size(ctx, t, key)
				}
				r += testenv.ReadUnits(size, aws.ToBool(ka.ConsistentRead), false)
			}
		}
	case *dynamodb.TransactGetItemsInput:
		for _, it := range in.TransactItems {
			if it.Get != nil {
				r += testenv.ReadUnits(m.size(ctx, aws.ToString(it.Get.TableName), it.Get.Key), true, true)
			}
		}
	case *dynamodb.QueryInput:
		if out, ok := result.(*dynamodb.QueryOutput); ok && out != nil {
			r = testenv.ReadUnits(m.scanned(ctx, in, out), aws.ToBool(in.ConsistentRead), false)
		}
	case *dynamodb.ScanInput:
		if out, ok := result.(*dynamodb.ScanOutput); ok && out != nil {
			size := 0
			for _, it := range out.Items {
				size += ItemSize(it)
			}
			r = testenv.ReadUnits(size, aws.ToBool(in.ConsistentRead), false)
		}
	case *sqs.SendMessageInput:
		s = testenv.SQSRequests(len(aws.ToString(in.MessageBody)))
	case *sqs.SendMessageBatchInput:
		n := 0
		for _, e := range in.Entries {
			n += len(aws.ToString(e.MessageBody))
		}
		s = testenv.SQSRequests(n)
	case *sqs.ReceiveMessageInput:
		n := 0
		if out, ok := result.(*sqs.ReceiveMessageOutput); ok && out != nil {
			for _, msg := range out.Messages {
				n += len(aws.ToString(msg.Body))
			}
		}
		s = testenv.SQSRequests(n)
	case *apigatewaymanagementapi.PostToConnectionInput:
		if callErr == nil { // a post to a gone connection delivers nothing
			ws = testenv.WebSocketMessages(len(in.Data))
		}
	}
	if isSQS(params) && s == 0 {
		s = 1
	}
	return r, w, s, ws
}

func isSQS(params any) bool {
	switch params.(type) {
	case *sqs.DeleteMessageInput, *sqs.DeleteMessageBatchInput, *sqs.ChangeMessageVisibilityInput,
		*sqs.ChangeMessageVisibilityBatchInput, *sqs.GetQueueAttributesInput, *sqs.GetQueueUrlInput:
		return true
	}
	return false
}

// txTarget is the table, key and new size (-1: read after; 0: deleted or
// only checked) of one transaction action.
func txTarget(ctx context.Context, m *Meter, it types.TransactWriteItem) (string, map[string]types.AttributeValue, int) {
	switch {
	case it.Put != nil:
		t := aws.ToString(it.Put.TableName)
		return t, m.keyOf(ctx, t, it.Put.Item), ItemSize(it.Put.Item)
	case it.Update != nil:
		return aws.ToString(it.Update.TableName), it.Update.Key, -1
	case it.Delete != nil:
		return aws.ToString(it.Delete.TableName), it.Delete.Key, 0
	case it.ConditionCheck != nil:
		return aws.ToString(it.ConditionCheck.TableName), it.ConditionCheck.Key, 0
	}
	return "", nil, 0
}

// scanned is the size of every item a Query read, filtered out or not:
// the same key condition again, from the same start, for as many items as
// it scanned, with no projection or filter.
func (m *Meter) scanned(ctx context.Context, in *dynamodb.QueryInput, out *dynamodb.QueryOutput) int {
	if in.ProjectionExpression == nil && in.FilterExpression == nil && in.Select == "" {
		size := 0
		for _, it := range out.Items {
			size += ItemSize(it)
		}
		return size
	}
	if out.ScannedCount == 0 {
		return 0
	}
	used := placeholders.FindAllString(aws.ToString(in.KeyConditionExpression), -1)
	q := &dynamodb.QueryInput{TableName: in.TableName, IndexName: in.IndexName, KeyConditionExpression: in.KeyConditionExpression,
		ExclusiveStartKey: in.ExclusiveStartKey, ScanIndexForward: in.ScanIndexForward, ConsistentRead: in.ConsistentRead,
		Limit: aws.Int32(out.ScannedCount)}
	for _, p := range used {
		if p[0] == '#' {
			if q.ExpressionAttributeNames == nil {
				q.ExpressionAttributeNames = map[string]string{}
			}
			q.ExpressionAttributeNames[p] = in.ExpressionAttributeNames[p]
		} else {
			if q.ExpressionAttributeValues == nil {
				q.ExpressionAttributeValues = map[string]types.AttributeValue{}
			}
			q.ExpressionAttributeValues[p] = in.ExpressionAttributeValues[p]
		}
	}
	full, err := m.side.Query(ctx, q)
	if err != nil {
		return 0
	}
	size := 0
	for _, it := range full.Items {
		size += ItemSize(it)
	}
	return size
}

var placeholders = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// size is the stored item's size now (0 if none).
func (m *Meter) size(ctx context.Context, table string, key map[string]types.AttributeValue) int {
	if table == "" || len(key) == 0 {
		return 0
	}
	out, err := m.side.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return 0
	}
	return ItemSize(out.Item)
}

// keyOf is item's primary key (the table's key schema, read once).
func (m *Meter) keyOf(ctx context.Context, table string, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	m.mu.Lock()
	names, ok := m.keys[table]
	m.mu.Unlock()
	if !ok {
		out, err := m.side.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return nil
		}
		for _, k := range out.Table.KeySchema {
			names = append(names, aws.ToString(k.AttributeName))
		}
		m.mu.Lock()
		m.keys[table] = names
		m.mu.Unlock()
	}
	key := map[string]types.AttributeValue{}
	for _, n := range names {
		key[n] = item[n]
	}
	return key
}

func keyString(table string, key map[string]types.AttributeValue) string {
	names := make([]string, 0, len(key))
	for k := range key {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(table)
	for _, k := range names {
		b.WriteString("|" + k + "=")
		switch v := key[k].(type) {
		case *types.AttributeValueMemberS:
			b.WriteString("S:" + v.Value)
		case *types.AttributeValueMemberN:
			b.WriteString("N:" + v.Value)
		case *types.AttributeValueMemberB:
			b.WriteString("B:" + string(v.Value))
		}
	}
	return b.String()
}
