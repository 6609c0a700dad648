package batch

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Backoff is the in-invocation retry policy for transient AWS errors:
// exponential backoff with full jitter (sleep a random time in
// [0, min(Cap, Base*2^attempt))), at most Attempts tries, never past the
// context's deadline. After that the caller gives up on the whole message
// and SQS redelivers it later.
type Backoff struct {
	Attempts int
	Base     time.Duration
	Cap      time.Duration
}

// DefaultBackoff: 8 tries spread over about 3 s. With 20% of calls failing
// at random, a call still fails 8 times in a row once in 390,000.
var DefaultBackoff = Backoff{Attempts: 8, Base: 25 * time.Millisecond, Cap: time.Second}

// Do runs op until it succeeds, fails permanently, or the attempts run out.
func (b Backoff) Do(ctx context.Context, op func() error) error {
	var err error
	for attempt := 0; attempt < b.Attempts; attempt++ {
		if err = op(); err == nil || !Transient(err) {
			return err
		}
		if attempt == b.Attempts-1 {
			break
		}
		d := b.Base << attempt
		if d > b.Cap || d <= 0 {
			d = b.Cap
		}
		t := time.NewTimer(rand.N(d) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	return err
}

// throttles are the error codes DynamoDB and SQS use for "slow down" and
// "try again" that the SDK's retryables do not all cover.
var throttles = map[string]bool{
	"ThrottlingException": true, "ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded": true, "TransactionConflictException": true,
	"InternalServerError": true, "ServiceUnavailable": true, "LimitExceededException": true,
	"TransactionInProgressException": true, "RequestThrottled": true,
}

// Transient reports whether err is worth retrying: throttling, 5xx,
// timeouts and broken connections. A context cancelled by the caller and
// every client error (conditional check failed, validation, access denied)
// are not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrConflict) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && throttles[ae.ErrorCode()] {
		return true
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// A per-call timeout, not the invocation's: the caller's ctx check
		// in Do stops retries once the invocation itself runs out.
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}
