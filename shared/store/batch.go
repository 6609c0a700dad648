package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Batch reads and writes may leave keys or items unprocessed when a table
// is throttled; both helpers retry exactly those with backoff, a bounded
// number of times, so a caller sees either everything done or an error.

const maxBatchAttempts = 8

// batchRead runs BatchGetItem for req (at most 100 keys in all) and calls
// each for every item returned; an error from each stops the read.
func (db *DB) batchRead(ctx context.Context, op string, req map[string]types.KeysAndAttributes, each func(table string, item map[string]types.AttributeValue) error) error {
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > maxBatchAttempts {
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
func (db *DB) batchWrite(ctx context.Context, op string, items map[string][]types.WriteRequest) error {
	for attempt := 0; len(items) > 0; attempt++ {
		if attempt > maxBatchAttempts {
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

// sleep backs off before retry n (25 ms doubling, at most ~3 s).
func sleep(ctx context.Context, n int) error {
	t := time.NewTimer(25 * time.Millisecond << min(n, 7))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
