package memstore

import (
	"encoding/json"
	"errors"
	"fmt"
)

// pageToken is the fake's opaque page token: the shard (for the sharded
// user listing) and the last id returned. Like the DynamoDB adapter's, it
// is JSON with the shard under "n", so the shared contract suite can hand
// both the same foreign tokens.
type pageToken struct {
	Shard int    `json:"n,omitempty"`
	After string `json:"a"`
}

var errBadPage = errors.New("memstore: bad page token")

func encodePage(shard int, after string) ([]byte, error) {
	b, err := json.Marshal(pageToken{Shard: shard, After: after})
	if err != nil {
		return nil, fmt.Errorf("memstore: encode page token: %w", err)
	}
	return b, nil
}

// decodePage reverses encodePage; an empty token is the first page.
func decodePage(b []byte, shards int) (pageToken, error) {
	var t pageToken
	if len(b) == 0 {
		return t, nil
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Shard < 0 || t.Shard >= shards {
		return pageToken{}, errBadPage
	}
	return t, nil
}
