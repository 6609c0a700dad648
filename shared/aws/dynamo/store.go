// Package dynamo is TokenIM's DynamoDB storage, one adapter type per
// aggregate (stores.go). Each domain package declares the interface it
// needs (users.Store, chat.GroupStore, ...) and each adapter asserts at
// compile time that it implements it. The
// key design and every access pattern with its cost is in
// docs/data-model.md. No method here issues a Scan.
package dynamo

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"

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

// writeTokenAttr holds a random token set on every item written by a put
// that may meet its own applied write (see ownWrite). It is never read
// back into the domain; ~20 bytes per item.
const writeTokenAttr = "wt"

// withWriteToken marks item with a token unique to this put call. The
// SDK's retries resend the same input, so they carry the same token;
// any other writer - another send of the same client_msg_id taking over
// a claim, another create of the same user - carries another.
func withWriteToken(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	item[writeTokenAttr] = &types.AttributeValueMemberS{Value: rand.Text()[:16]}
	return item
}

// ownWrite reports whether a conditional put that failed met the very item
// it was writing: the SDK retried a call whose first attempt DynamoDB had
// applied but whose answer was lost (a 5xx, a timeout or a broken
// connection after the write), and the retry found that write. Such a put
// succeeded. The item must carry withWriteToken's token: two writers can
// build otherwise identical items (two sends of one client_msg_id, the
// second taking over the first's claim, in the same millisecond), and
// only the token tells them apart. An item with sets, which DynamoDB may
// reorder, compares unequal, and the put then reports the conflict.
func ownWrite(err error, item map[string]types.AttributeValue) bool {
	if _, ok := item[writeTokenAttr]; !ok {
		return false
	}
	old := conditionOld(err)
	return old != nil && reflect.DeepEqual(old, item)
}
