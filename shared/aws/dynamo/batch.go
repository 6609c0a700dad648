package dynamo

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Batch reads and writes may leave keys or items unprocessed when a table
// is throttled. The SDK does not retry those (the call itself succeeded),
// so these two helpers are the one place that does: exactly the
// unprocessed part, at most maxBatchAttempts calls, with full-jitter
// backoff, so a caller sees either everything done or an error. Each call
// is itself retried by the SDK (awsclient.DefaultPolicy) only if it fails.

// maxBatchAttempts bounds the calls per batch read or write.
const maxBatchAttempts = 8

// batchRead runs BatchGetItem for req (at most 100 keys in all) and calls
// each for every item returned; an error from each stops the read.
func (db *base) batchRead(ctx context.Context, op string, req map[string]types.KeysAndAttributes, each func(table string, item map[string]types.AttributeValue) error) error {
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt >= maxBatchAttempts {
			return wrap(op, errors.New("unprocessed keys after retries"))
		}
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := db.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return wrap(op, err)
		}
		for table, items := range out.Responses {
			for _, item := range items {
				if err := each(table, item); err != nil {
					return err
				}
			}
		}
		req = out.UnprocessedKeys
	}
	return nil
}

// batchWrite runs BatchWriteItem for items (at most 25 requests in all).
func (db *base) batchWrite(ctx context.Context, op string, items map[string][]types.WriteRequest) error {
	for attempt := 0; len(items) > 0; attempt++ {
		if attempt >= maxBatchAttempts {
			return wrap(op, errors.New("unprocessed items after retries"))
		}
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := db.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
		if err != nil {
			return wrap(op, err)
		}
		items = out.UnprocessedItems
	}
	return nil
}

// sleep backs off before retry n: a random time in [0, 25 ms * 2^n),
// the ceiling at most 3.2 s (full jitter: throttled callers spread out).
func sleep(ctx context.Context, n int) error {
	t := time.NewTimer(rand.N(25*time.Millisecond<<min(n, 7)) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
