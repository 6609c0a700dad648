package awsclient

import (
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// The retry policy: the only retries of AWS calls in TokenIM. Every client
// built from Load's configuration (DynamoDB, SQS, the API Gateway
// management API, Secrets Manager) uses the SDK's standard retryer with
// these numbers; application code does not wrap SDK calls in loops of its
// own, so one operation makes at most MaxAttempts HTTP attempts.
//
//   - MaxAttempts 4: with 20% of attempts failing at random, one call
//     fails all four once in 625; the message is then redelivered by SQS.
//   - Backoff: full jitter, a random delay in [0, min(MaxBackoff,
//     BaseDelay*2^attempt)): at most 25+50+100 ms = 175 ms in all by default.
//   - Retried: the SDK's defaults (5xx, timeouts, broken connections and
//     throttling codes, which include DynamoDB's ThrottlingException,
//     ProvisionedThroughputExceededException, RequestLimitExceeded and
//     TransactionInProgressException, and the management API's
//     LimitExceededException) plus HTTP 429 and DynamoDB's
//     TransactionConflictException.
//   - No client-side retry quota (ratelimit.None): the SDK's token bucket
//     is shared by every call of a sandbox, so one throttled burst would
//     stop retries for every other recipient of a fan-out; the attempt cap
//     and the backoff already bound the load.
//
// Left to others: DynamoDB's UnprocessedItems/UnprocessedKeys (the SDK
// does not retry a call that succeeded; the DynamoDB adapter, shared/aws/dynamo,
// retries exactly those, bounded and jittered, and returns none), seq collisions in shared/chat, and SQS's own
// redelivery of failed queue records.

// Policy is the retry policy's numbers.
type Policy struct {
	MaxAttempts int           // HTTP attempts per operation, the first included
	BaseDelay   time.Duration // backoff before the first retry (upper bound)
	MaxBackoff  time.Duration // cap on any one backoff
}

// DefaultPolicy is what Load configures.
var DefaultPolicy = Policy{MaxAttempts: 4, BaseDelay: 25 * time.Millisecond, MaxBackoff: time.Second}

// extraRetryables are retried on top of the SDK's defaults.
var extraRetryables = []retry.IsErrorRetryable{
	retry.RetryableHTTPStatusCode{Codes: map[int]struct{}{429: {}}},
	retry.RetryableErrorCode{Codes: map[string]struct{}{"TransactionConflictException": {}}},
}

// Apply makes every client built from cfg retry by p.
func (p Policy) Apply(cfg *aws.Config) {
	cfg.RetryMaxAttempts = 0 // the retryer's own MaxAttempts rules
	cfg.Retryer = func() aws.Retryer { return p.Retryer() }
}

// Retryer returns a standard retryer with p's numbers.
func (p Policy) Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = p.MaxAttempts
		o.MaxBackoff = p.MaxBackoff
		o.Backoff = fullJitter{base: p.BaseDelay, max: p.MaxBackoff}
		o.RateLimiter = ratelimit.None
		o.Retryables = append(append([]retry.IsErrorRetryable{}, o.Retryables...), extraRetryables...)
	})
}

// fullJitter is exponential backoff with full jitter. The SDK's own
// ExponentialJitterBackoff starts at one second (and does not jitter once
// past MaxBackoff), too slow for a Lambda invocation that answers in
// milliseconds.
type fullJitter struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer; attempt counts from 1.
func (j fullJitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := j.max
	if attempt < 32 {
		if b := j.base << (attempt - 1); b > 0 && b < d {
			d = b
		}
	}
	if d <= 0 {
		return 0, nil
	}
	return rand.N(d), nil
}
