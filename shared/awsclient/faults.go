package awsclient

// Fault injection: the one mechanism the reliability tests use to break
// AWS calls on purpose (docs/testing.md, "Faults"). A rule picks calls by
// service, operation and (for DynamoDB) the item's sort-key prefix, and
// then fails the attempt with a retryable error, kills the process once the
// call has succeeded (a sandbox that dies after a write), or holds the
// call until its context ends (a timeout). In-process tests install rules
// with InjectFaults; a local-stack test sets TOKENIM_FAULTS (JSON rules)
// in a function's environment and Load installs them. The template never
// sets it (TestTemplateSetsNoFaults).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// FaultsEnv names the environment variable Load reads rules from.
const FaultsEnv = "TOKENIM_FAULTS"

// Fault actions.
const (
	FaultError = "error" // fail the attempt (retryable, as a throttle or 5xx); the retryer sees it
	FaultExit  = "exit"  // after the call succeeded, the process exits (status 3): a dead sandbox
	FaultHang  = "hang"  // after the call succeeded, hold it until its context ends: a timeout
)

// Fault is one rule.
type Fault struct {
	Service   string  `json:"service"`    // "DynamoDB", "SQS", "ApiGatewayManagementApi", ...; "" = any
	Operation string  `json:"operation"`  // "PutItem", "PostToConnection", ...; "" = any
	KeyPrefix string  `json:"key_prefix"` // DynamoDB: the item's sk starts with it; "" = any
	Action    string  `json:"action"`     // FaultError, FaultExit or FaultHang
	Code      string  `json:"code"`       // FaultError: the error code (default ThrottlingException)
	Rate      float64 `json:"rate"`       // the share of matching calls (or attempts) hit; 0 = all
	Skip      int     `json:"skip"`       // matching calls to let through first
	Times     int     `json:"times"`      // at most this many hits; 0 = no limit
	// Armed names a file: the rule fires only while the file exists, and
	// the call that fires removes it. A test arms a rule across every
	// sandbox of a local stack by creating the file; it fires once.
	Armed string `json:"armed"`
}

// FaultLog counts what the rules did (for tests' assertions).
type FaultLog struct {
	mu   sync.Mutex
	hits map[string]int // "service.Operation" -> hits
}

// Hits returns how often rules fired on service.Operation ("" = all).
func (l *FaultLog) Hits(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if op != "" {
		return l.hits[op]
	}
	n := 0
	for _, v := range l.hits {
		n += v
	}
	return n
}

type faultRule struct {
	Fault
	mu      sync.Mutex
	matched int
	hit     int
}

// fire decides whether this matching call is hit.
func (r *faultRule) fire() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.matched++
	if r.matched <= r.Skip || (r.Times > 0 && r.hit >= r.Times) {
		return false
	}
	if r.Rate > 0 && rand.Float64() >= r.Rate {
		return false
	}
	if r.Armed != "" && os.Remove(r.Armed) != nil {
		return false // not armed, or another sandbox fired it
	}
	r.hit++
	return true
}

func (r *faultRule) matches(service, op string, in any) bool {
	if (r.Service != "" && r.Service != service) || (r.Operation != "" && r.Operation != op) {
		return false
	}
	return r.KeyPrefix == "" || strings.HasPrefix(sortKey(in), r.KeyPrefix)
}

// sortKey is the sk of the item a DynamoDB call writes or reads ("" if
// none or not DynamoDB).
func sortKey(in any) string {
	var item map[string]types.AttributeValue
	switch v := in.(type) {
	case *dynamodb.PutItemInput:
		item = v.Item
	case *dynamodb.UpdateItemInput:
		item = v.Key
	case *dynamodb.DeleteItemInput:
		item = v.Key
	case *dynamodb.GetItemInput:
		item = v.Key
	}
	if s, ok := item["sk"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// errInjected is what a FaultError attempt fails with.
func errInjected(code string) error {
	if code == "" {
		code = "ThrottlingException"
	}
	return &smithy.GenericAPIError{Code: code, Message: "injected fault", Fault: smithy.FaultServer}
}

// exit ends the process; a variable so that the package's own tests can
// observe it.
var exit = func() { os.Exit(3) }

// InjectFaults installs rules on cfg's clients and returns their log.
// Rules are checked in order; the first that matches a call and fires
// (its rate, skip, times and arming allow it) acts.
func InjectFaults(cfg *aws.Config, faults ...Fault) (*FaultLog, error) {
	log := &FaultLog{hits: map[string]int{}}
	var rules []*faultRule
	for _, f := range faults {
		switch f.Action {
		case FaultError, FaultExit, FaultHang:
		default:
			return nil, fmt.Errorf("awsclient: fault action %q (want error, exit or hang)", f.Action)
		}
		rules = append(rules, &faultRule{Fault: f})
	}
	if len(rules) == 0 {
		return log, nil
	}
	// fired is the first rule of actions that matches the call and fires.
	fired := func(ctx context.Context, in any, actions ...string) *faultRule {
		service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
		for _, r := range rules {
			if slices.Contains(actions, r.Action) && r.matches(service, op, in) && r.fire() {
				return r
			}
		}
		return nil
	}
	record := func(ctx context.Context, r *faultRule) {
		op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
		log.mu.Lock()
		log.hits[op]++
		log.mu.Unlock()
		slog.WarnContext(ctx, "fault injected", "operation", op, "action", r.Action, "key_prefix", r.KeyPrefix)
	}
	type inputKey struct{}
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		// After a call, retries included: exit or hang.
		if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tokenim.faults.after",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(middleware.WithStackValue(ctx, inputKey{}, in.Parameters), in)
				if err != nil {
					return out, md, err
				}
				r := fired(ctx, in.Parameters, FaultExit, FaultHang)
				if r == nil {
					return out, md, err
				}
				record(ctx, r)
				if r.Action == FaultExit {
					exit()
					return out, md, err // only where exit is a test's stand-in
				}
				<-ctx.Done()
				return out, md, ctx.Err()
			}), middleware.Before); err != nil {
			return err
		}
		// Each attempt: error (the retryer retries it like a real one).
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("tokenim.faults.error",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				params := middleware.GetStackValue(ctx, inputKey{})
				if r := fired(ctx, params, FaultError); r != nil {
					record(ctx, r)
					return middleware.FinalizeOutput{}, middleware.Metadata{}, errInjected(r.Code)
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
	return log, nil
}

// faultsFromEnv installs TOKENIM_FAULTS's rules, if set.
func faultsFromEnv(cfg *aws.Config) error {
	raw := os.Getenv(FaultsEnv)
	if raw == "" {
		return nil
	}
	var faults []Fault
	if err := json.Unmarshal([]byte(raw), &faults); err != nil {
		return errors.New("awsclient: " + FaultsEnv + " is not a JSON list of rules")
	}
	_, err := InjectFaults(cfg, faults...)
	return err
}
