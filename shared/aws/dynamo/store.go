// Package dynamo is TokenIM's DynamoDB storage, one adapter type per
// aggregate (stores.go). Each domain package declares the interface it
// needs (users.Store, chat.GroupStore, ...) and each adapter asserts at
// compile time that it implements it. The
// key design and every access pattern with its cost is in
// docs/data-model.md. No method here issues a Scan.
package dynamo

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Tables names the five tables; the template hands them to functions as
// environment variables.
type Tables struct {
	Users       string // USERS_TABLE: users, app credentials, idempotency keys
	Groups      string // GROUPS_TABLE: groups and their members
	Messages    string // MESSAGES_TABLE: conversations, messages, per-user read state
	Jobs        string // JOBS_TABLE: batch jobs, their rows and errors
	Connections string // CONNECTIONS_TABLE: WebSocket connections
}

// base is what every adapter holds: the client and the table names. The
// helpers shared by several aggregates (batch reads and writes, member
// items) hang off it.
type base struct {
	client *dynamodb.Client
	t      Tables
}

// Client exposes the DynamoDB client (for packages with their own items).
func (db *base) Client() *dynamodb.Client { return db.client }

// Tables returns the table names.
func (db *base) Tables() Tables { return db.t }

// Key attribute names shared by every table.
const (
	attrPK = "pk"
	attrSK = "sk"
)

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}, attrSK: &types.AttributeValueMemberS{Value: sk}}
}

// IsConditionFailed reports a failed condition expression.
func IsConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// conditionOld returns the item a failed conditional write found (when the
// request asked for ReturnValuesOnConditionCheckFailure=ALL_OLD).
func conditionOld(err error) map[string]types.AttributeValue {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item
	}
	return nil
}

func wrap(op string, err error) error { return fmt.Errorf("store: %s: %w", op, err) }
