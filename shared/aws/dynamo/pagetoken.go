package dynamo

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// pageToken is the adapter's opaque page token: the Query's
// LastEvaluatedKey and, for sharded listings, the shard it belongs to. Use
// cases carry it unread inside their signed cursor (shared/cursor), so
// DynamoDB types stay in this package.
type pageToken struct {
	Shard int                `json:"n,omitempty"`
	Key   map[string]keyAttr `json:"k,omitempty"`
}

// keyAttr holds a string or number key attribute (the only key types we use).
type keyAttr struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
}

// errBadPage reports a page token this adapter did not produce (cursors
// are signed, so this means a bug, not a client error).
var errBadPage = errors.New("store: bad page token")

// encodePage returns the token resuming at start in shard; an empty start
// is the top of shard. Callers return no token when nothing follows.
func encodePage(shard int, start map[string]types.AttributeValue) ([]byte, error) {
	t := pageToken{Shard: shard, Key: make(map[string]keyAttr, len(start))}
	for k, v := range start {
		switch a := v.(type) {
		case *types.AttributeValueMemberS:
			s := a.Value
			t.Key[k] = keyAttr{S: &s}
		case *types.AttributeValueMemberN:
			n := a.Value
			t.Key[k] = keyAttr{N: &n}
		default:
			return nil, fmt.Errorf("store: page key attribute %s has type %T", k, v)
		}
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("store: encode page token: %w", err)
	}
	return b, nil
}

// decodePage reverses encodePage; an empty token is the first page.
func decodePage(b []byte) (shard int, start map[string]types.AttributeValue, err error) {
	if len(b) == 0 {
		return 0, nil, nil
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return 0, nil, errBadPage
	}
	if len(t.Key) > 0 {
		start = make(map[string]types.AttributeValue, len(t.Key))
	}
	for k, v := range t.Key {
		switch {
		case v.S != nil:
			start[k] = &types.AttributeValueMemberS{Value: *v.S}
		case v.N != nil:
			start[k] = &types.AttributeValueMemberN{Value: *v.N}
		default:
			return 0, nil, errBadPage
		}
	}
	return t.Shard, start, nil
}
