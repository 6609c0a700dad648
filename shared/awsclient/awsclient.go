// Package awsclient loads the SDK configuration once per cold start, sets
// the one retry policy every client uses (retry.go), and provides the request-counting middleware that makes cost exact: every
// AWS call is counted per service and operation, and DynamoDB calls also
// report the capacity units they consumed.
package awsclient

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Load reads the default configuration and sets the retry policy
// (DefaultPolicy, retry.go). AWS_ENDPOINT_URL (honoured by the SDK itself)
// points every client at an emulator for local runs and tests.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsclient: load config: %w", err)
	}
	DefaultPolicy.Apply(&cfg)
	if err := faultsFromEnv(&cfg); err != nil {
		return aws.Config{}, err
	}
	return cfg, nil
}

// Counter counts AWS requests per "service.Operation" and the DynamoDB
// capacity units they report. Safe for concurrent use.
type Counter struct {
	mu       sync.Mutex
	requests map[string]int
	read     float64
	write    float64
}

// NewCounter returns an empty counter.
func NewCounter() *Counter { return &Counter{requests: map[string]int{}} }

// Attach adds the counter to cfg: every client built from cfg is counted.
func (c *Counter) Attach(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, c.register)
}

func (c *Counter) register(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tokenim.count",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.requests[key]++
			c.mu.Unlock()
			askCapacity(in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			c.addCapacity(out.Result, readOps[awsmiddleware.GetOperationName(ctx)])
			return out, md, err
		}), middleware.Before); err != nil {
		return fmt.Errorf("awsclient: add counter: %w", err)
	}
	return nil
}

// askCapacity sets ReturnConsumedCapacity=TOTAL on DynamoDB inputs that
// have it; it is free and lets the counter sum units exactly.
func askCapacity(params any) {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	f := v.Elem().FieldByName("ReturnConsumedCapacity")
	if f.IsValid() && f.CanSet() && f.Type() == reflect.TypeOf(types.ReturnConsumedCapacityTotal) && f.String() == "" {
		f.SetString(string(types.ReturnConsumedCapacityTotal))
	}
}

// readOps are the DynamoDB operations that only read: a total-only
// capacity report from them is read units.
var readOps = map[string]bool{"GetItem": true, "BatchGetItem": true, "Query": true, "Scan": true, "TransactGetItems": true}

func (c *Counter) addCapacity(result any, readOnly bool) {
	v := reflect.ValueOf(result)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return
	}
	f := v.Elem().FieldByName("ConsumedCapacity")
	if !f.IsValid() {
		return
	}
	var caps []types.ConsumedCapacity
	switch x := f.Interface().(type) {
	case *types.ConsumedCapacity:
		if x != nil {
			caps = append(caps, *x)
		}
	case []types.ConsumedCapacity:
		caps = x
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range caps {
		r, w := aws.ToFloat64(cc.ReadCapacityUnits), aws.ToFloat64(cc.WriteCapacityUnits)
		if r == 0 && w == 0 && cc.CapacityUnits != nil {
			// Some emulators (and DynamoDB for BatchGetItem) report only the
			// total: attribute it by the operation's kind.
			if readOnly {
				r = aws.ToFloat64(cc.CapacityUnits)
			} else {
				w = aws.ToFloat64(cc.CapacityUnits)
			}
		}
		c.read += r
		c.write += w
	}
}

// Snapshot is a copy of the counts.
type Snapshot struct {
	Requests   map[string]int
	ReadUnits  float64
	WriteUnits float64
}

// Snapshot returns the counts so far.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.requests))
	for k, v := range c.requests {
		m[k] = v
	}
	return Snapshot{Requests: m, ReadUnits: c.read, WriteUnits: c.write}
}

// Reset zeroes the counts.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = map[string]int{}
	c.read, c.write = 0, 0
}

// Total is the number of requests to a service ("DynamoDB", "SQS", ...).
func (s Snapshot) Total(service string) int {
	n := 0
	for k, v := range s.Requests {
		if strings.HasPrefix(k, service+".") {
			n += v
		}
	}
	return n
}

// Count is the number of calls of one "Service.Operation".
func (s Snapshot) Count(op string) int { return s.Requests[op] }

func (s Snapshot) String() string {
	keys := make([]string, 0, len(s.Requests))
	for k := range s.Requests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, s.Requests[k])
	}
	fmt.Fprintf(&b, "RCU=%.1f WCU=%.1f", s.ReadUnits, s.WriteUnits)
	return b.String()
}
