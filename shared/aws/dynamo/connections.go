package dynamo

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/realtime"
)

// Connections table (docs/data-model.md). Under pk "USER#<user_id>":
//   - sk "CONN#<connection_id>": one record per open connection, so one
//     Query finds every connection of a user (DM pushes, kicks);
//   - sk "PRESENCE": the presence item, one attribute "c_<connection_id>"
//     = expiry (epoch s) per open connection, plus last_seen (ms). It lets
//     a group push find the connections of 100 members with one
//     BatchGetItem instead of one Query per member.

type connItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	realtime.Connection
}

const (
	presenceSK     = "PRESENCE"
	connAttrPrefix = "c_"
)

func connKey(userID, connID string) (string, string) { return "USER#" + userID, "CONN#" + connID }

func presenceKey(userID string) map[string]types.AttributeValue {
	return key("USER#"+userID, presenceSK)
}

// PutConnection stores a connection record and adds it to the user's
// presence item (PutItem + UpdateItem: 2 WCU).
func (db *Connections) PutConnection(ctx context.Context, c realtime.Connection) error {
	pk, sk := connKey(c.UserID, c.ConnectionID)
	item, err := attributevalue.MarshalMap(connItem{PK: pk, SK: sk, Connection: c})
	if err != nil {
		return wrap("marshal connection", err)
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Connections, Item: item}); err != nil {
		return wrap("put connection", err)
	}
	ttl := time.UnixMilli(c.ConnectedAt).Add(realtime.PresenceRetention).Unix()
	_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Connections, Key: presenceKey(c.UserID),
		UpdateExpression:          aws.String("SET #c = :exp, expires_at = :ttl"),
		ExpressionAttributeNames:  map[string]string{"#c": connAttrPrefix + c.ConnectionID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":exp": num(c.ExpiresAt), ":ttl": num(ttl)}})
	if err != nil {
		return wrap("add presence", err)
	}
	return nil
}

// DeleteConnection removes a connection record and its presence entry,
// stamping last_seen (DeleteItem + UpdateItem: 2 WCU). Deleting a missing
// one is not an error ($disconnect may run after the TTL removed it, or
// after a 410 clean-up).
func (db *Connections) DeleteConnection(ctx context.Context, userID, connID string, at time.Time) error {
	pk, sk := connKey(userID, connID)
	if _, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Connections, Key: key(pk, sk)}); err != nil {
		return wrap("delete connection", err)
	}
	return db.removePresence(ctx, userID, connID, at)
}

// DeleteStaleConnection deletes the record only if it connected before
// connectedBefore (a conditional DeleteItem, 1 WCU either way), then its
// presence entry.
func (db *Connections) DeleteStaleConnection(ctx context.Context, userID, connID string, connectedBefore, at time.Time) (bool, error) {
	pk, sk := connKey(userID, connID)
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Connections, Key: key(pk, sk),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR connected_at < :before"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":before": num(connectedBefore.UnixMilli())}})
	if IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("delete stale connection", err)
	}
	return true, db.removePresence(ctx, userID, connID, at)
}

func (db *Connections) removePresence(ctx context.Context, userID, connID string, at time.Time) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Connections, Key: presenceKey(userID),
		// Never create a presence item for a user who has none.
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		UpdateExpression:         aws.String("REMOVE #c SET last_seen = :now, expires_at = :ttl"),
		ExpressionAttributeNames: map[string]string{"#c": connAttrPrefix + connID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(at.UnixMilli()),
			":ttl": num(at.Add(realtime.PresenceRetention).Unix())}})
	if err != nil && !IsConditionFailed(err) {
		return wrap("remove presence", err)
	}
	return nil
}

// UserConnections lists a user's connections whose TTL has not passed
// (DynamoDB deletes expired items only eventually, so they are filtered).
// One Query (eventually consistent, 0.5 RCU per 4 KB).
func (db *Connections) UserConnections(ctx context.Context, userID string, now time.Time) ([]realtime.Connection, error) {
	pk, _ := connKey(userID, "")
	in := &dynamodb.QueryInput{TableName: &db.t.Connections,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :conn)"),
		FilterExpression:       aws.String("expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":conn": &types.AttributeValueMemberS{Value: "CONN#"},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		}}
	var out []realtime.Connection
	p := dynamodb.NewQueryPaginator(db.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query connections", err)
		}
		var items []connItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, wrap("decode connections", err)
		}
		for _, it := range items {
			out = append(out, it.Connection)
		}
	}
	return out, nil
}

// decodePresence reads a presence item, keeping connections that have not
// expired.
func decodePresence(item map[string]types.AttributeValue, now time.Time) realtime.Presence {
	var p realtime.Presence
	if v, ok := item["pk"].(*types.AttributeValueMemberS); ok {
		p.UserID = strings.TrimPrefix(v.Value, "USER#")
	}
	for k, v := range item {
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		x, _ := strconv.ParseInt(n.Value, 10, 64)
		switch {
		case strings.HasPrefix(k, connAttrPrefix) && x > now.Unix():
			p.Conns = append(p.Conns, strings.TrimPrefix(k, connAttrPrefix))
		case k == "last_seen":
			p.LastSeen = time.UnixMilli(x).UTC()
		}
	}
	return p
}

// Presence reads the presence items of ids: one eventually consistent
// BatchGetItem per 100 users (0.5 RCU per user). A user without an item
// is absent from the map (offline, never seen).
func (db *Connections) Presence(ctx context.Context, ids []string, now time.Time) (map[string]realtime.Presence, error) {
	out := map[string]realtime.Presence{}
	ids = unique(ids)
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, presenceKey(id))
		}
		err := db.batchRead(ctx, "presence", map[string]types.KeysAndAttributes{db.t.Connections: {Keys: keys}}, func(_ string, item map[string]types.AttributeValue) error {
			p := decodePresence(item, now)
			out[p.UserID] = p
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GroupPresence is Presence for those of ids who are members of gid: each
// BatchGetItem reads 50 member items (keys only) and the same 50 users'
// presence items, so a member removed since the chunk was planned gets
// nothing and the check costs no extra request. Both reads are eventually
// consistent (0.5 RCU per item; a consistent member read would cost 1 RCU
// per member and double a large group's push cost): a removal less than
// about a second old may still get one push.
func (db *Connections) GroupPresence(ctx context.Context, gid string, ids []string, now time.Time) (map[string]realtime.Presence, error) {
	out := map[string]realtime.Presence{}
	ids = unique(ids)
	for start := 0; start < len(ids); start += 50 {
		chunk := ids[start:min(start+50, len(ids))]
		var mkeys, pkeys []map[string]types.AttributeValue
		for _, id := range chunk {
			mkeys = append(mkeys, memberKey(gid, id))
			pkeys = append(pkeys, presenceKey(id))
		}
		members := map[string]bool{}
		found := map[string]realtime.Presence{}
		err := db.batchRead(ctx, "group presence", map[string]types.KeysAndAttributes{
			db.t.Groups:      {Keys: mkeys, ProjectionExpression: aws.String("sk")},
			db.t.Connections: {Keys: pkeys},
		}, func(table string, item map[string]types.AttributeValue) error {
			if table == db.t.Groups {
				if v, ok := item["sk"].(*types.AttributeValueMemberS); ok {
					members[strings.TrimPrefix(v.Value, memberPrefix)] = true
				}
				return nil
			}
			p := decodePresence(item, now)
			found[p.UserID] = p
			return nil
		})
		if err != nil {
			return nil, err
		}
		for id, p := range found {
			if members[id] {
				out[id] = p
			}
		}
	}
	return out, nil
}

// GroupMemberIDs pages through a group's member ids in id order, after
// the id after ("" from the start). Strongly consistent, keys only: ~40
// bytes per member, so 1 RCU reads about 100 members.
func (db *Connections) GroupMemberIDs(ctx context.Context, gid string, limit int, after string) ([]string, string, error) {
	in := &dynamodb.QueryInput{TableName: &db.t.Groups, KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(groupPK(gid)), ":m": str(memberPrefix)},
		ProjectionExpression:      aws.String("sk"), ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(limit))}
	if after != "" {
		in.ExclusiveStartKey = memberKey(gid, after)
	}
	out, err := db.client.Query(ctx, in)
	if err != nil {
		return nil, "", wrap("query member ids", err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		if v, ok := it["sk"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, strings.TrimPrefix(v.Value, memberPrefix))
		}
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 && len(ids) > 0 {
		next = ids[len(ids)-1]
	}
	return ids, next, nil
}

func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
