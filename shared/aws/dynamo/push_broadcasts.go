package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/idempotency"
	"github.com/tokenim/tokenim/shared/push"
)

// Broadcasts (docs/data-model.md, "Push"): the job's head item and one
// marker per planned page and per counted chunk share the job's
// partition; each user's notification lives in the user's partition.

var _ push.BroadcastStore = (*Push)(nil)

func broadcastPK(id string) string { return "BCAST#" + id }
func inboxPK(userID string) string { return "NOTIF#" + userID }

const (
	broadcastMeta = "META"
	inboxPrefix   = "N#"
)

type broadcastItem struct {
	Title       string            `dynamodbav:"title"`
	Body        string            `dynamodbav:"body"`
	Data        map[string]string `dynamodbav:"data,omitempty"`
	Link        string            `dynamodbav:"link,omitempty"`
	AudUsers    []string          `dynamodbav:"aud_users,omitempty"`
	AudGroup    string            `dynamodbav:"aud_group,omitempty"`
	AudAll      bool              `dynamodbav:"aud_all,omitempty"`
	CreatedAt   int64             `dynamodbav:"created_at"`
	Planned     bool              `dynamodbav:"planned,omitempty"`
	ChunksTotal int64             `dynamodbav:"chunks_total"`
	ChunksDone  int64             `dynamodbav:"chunks_done"`
	Targeted    int64             `dynamodbav:"targeted"`
	Live        int64             `dynamodbav:"live"`
	Pushed      int64             `dynamodbav:"pushed"`
	NoDevice    int64             `dynamodbav:"no_device"`
	Suppressed  int64             `dynamodbav:"suppressed"`
	Failed      int64             `dynamodbav:"failed"`
}

// CreateBroadcast: one transaction of the idempotency record (if a key
// is given; condition: absent or expired) and the head. 2 or 4 WCU; a
// used key costs a GetItem more.
func (db *Push) CreateBroadcast(ctx context.Context, b push.Broadcast, idemKey, fp string) (string, string, error) {
	item, err := attributevalue.MarshalMap(broadcastItem{Title: b.Title, Body: b.Body, Data: b.Data, Link: b.Link, AudUsers: b.Audience.UserIDs,
		AudGroup: b.Audience.GroupID, AudAll: b.Audience.All, CreatedAt: b.CreatedAt.UnixMilli()})
	if err != nil {
		return "", "", wrap("encode broadcast", err)
	}
	for k, v := range key(broadcastPK(b.ID), broadcastMeta) {
		item[k] = v
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: &db.t.Users, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}}}
	if idemKey != "" {
		idem := key("BIDEM#"+idemKey, "IDEM")
		now := time.Now()
		idem["id"], idem["fp"] = str(b.ID), str(fp)
		idem["expires_at"] = num(now.Add(idempotency.TTL).Unix())
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &db.t.Users, Item: idem,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires_at < :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())}}})
	}
	_, err = db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons := cancelReasons(err); len(reasons) == 2 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
		id, fp, gerr := db.BroadcastKey(ctx, idemKey)
		if gerr == nil && id == "" {
			gerr = wrap("read broadcast idempotency key", errors.New("the key's record is gone"))
		}
		return id, fp, gerr
	}
	if err != nil {
		return "", "", wrap("create broadcast", err)
	}
	return "", "", nil
}

// ConsumeQuota: UpdateItem ADD n IF n < :max. 1 WCU.
func (db *Push) ConsumeQuota(ctx context.Context, day string, max int) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Users, Key: key("BQUOTA#"+day, "QUOTA"),
		UpdateExpression:          aws.String("ADD n :one SET expires_at = :exp"),
		ConditionExpression:       aws.String("attribute_not_exists(n) OR n < :max"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(int64(max)), ":exp": num(time.Now().Add(72 * time.Hour).Unix())}})
	if IsConditionFailed(err) {
		return push.QuotaError(max)
	}
	if err != nil {
		return wrap("consume broadcast quota", err)
	}
	return nil
}

// GetBroadcast: GetItem (consistent). 1 RCU (a 1,000-id audience: 16).
func (db *Push) GetBroadcast(ctx context.Context, id string) (push.Broadcast, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(broadcastPK(id), broadcastMeta), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return push.Broadcast{}, wrap("get broadcast", err)
	}
	if out.Item == nil {
		return push.Broadcast{}, apierror.New(apierror.NotFound, "Notification %q was not found.", id)
	}
	var it broadcastItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return push.Broadcast{}, wrap("decode broadcast", err)
	}
	return push.Broadcast{ID: id, Title: it.Title, Body: it.Body, Data: it.Data, Link: it.Link,
		Audience:  push.Audience{UserIDs: it.AudUsers, GroupID: it.AudGroup, All: it.AudAll},
		CreatedAt: time.UnixMilli(it.CreatedAt).UTC(), Planned: it.Planned, ChunksTotal: it.ChunksTotal, ChunksDone: it.ChunksDone,
		Counts: push.Counts{Targeted: it.Targeted, DeliveredLive: it.Live, Pushed: it.Pushed, NoDevice: it.NoDevice, Suppressed: it.Suppressed, Failed: it.Failed}}, nil
}

// once runs a transaction of a marker Put (absent) and an Update of the
// head; a marker already there means it ran before: nothing to do.
func (db *Push) once(ctx context.Context, op, id, marker, update string, vals map[string]types.AttributeValue) error {
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &db.t.Users, Item: key(broadcastPK(id), marker), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: &db.t.Users, Key: key(broadcastPK(id), broadcastMeta), UpdateExpression: &update,
			ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: vals}},
	}})
	if reasons := cancelReasons(err); len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
		return nil
	}
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

// RecordPlan: one transaction (4 WCU) per planned page.
func (db *Push) RecordPlan(ctx context.Context, id string, page, chunks int, last bool) error {
	update := "ADD chunks_total :c"
	vals := map[string]types.AttributeValue{":c": num(int64(chunks))}
	if last {
		update += " SET planned = :t"
		vals[":t"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	return db.once(ctx, "record broadcast plan", id, "PLAN#"+strconv.Itoa(page), update, vals)
}

// RecordChunk: one transaction (4 WCU) per chunk of up to 50 users.
func (db *Push) RecordChunk(ctx context.Context, id, chunk string, c push.Counts) error {
	return db.once(ctx, "record broadcast chunk", id, "CHUNK#"+chunk,
		"ADD chunks_done :one, targeted :tg, live :lv, pushed :pu, no_device :nd, suppressed :su, failed :fa",
		map[string]types.AttributeValue{":one": num(1), ":tg": num(c.Targeted), ":lv": num(c.DeliveredLive), ":pu": num(c.Pushed),
			":nd": num(c.NoDevice), ":su": num(c.Suppressed), ":fa": num(c.Failed)})
}

type inboxItem struct {
	SK        string            `dynamodbav:"sk"`
	Title     string            `dynamodbav:"title"`
	Body      string            `dynamodbav:"body"`
	Data      map[string]string `dynamodbav:"data,omitempty"`
	Link      string            `dynamodbav:"link,omitempty"`
	CreatedAt int64             `dynamodbav:"created_at"`
	Outcome   string            `dynamodbav:"outcome,omitempty"`
	ReadAt    int64             `dynamodbav:"read_at,omitempty"` // epoch ms
}

// ClaimRecipient: PutItem IF absent (ALL_OLD on failure). 1 WCU.
func (db *Push) ClaimRecipient(ctx context.Context, n push.InboxItem, ttl time.Duration) (string, bool, error) {
	item, err := attributevalue.MarshalMap(inboxItem{SK: inboxPrefix + n.ID, Title: n.Title, Body: n.Body, Data: n.Data, Link: n.Link, CreatedAt: n.CreatedAt.UnixMilli()})
	if err != nil {
		return "", false, wrap("encode notification", err)
	}
	item[attrPK] = str(inboxPK(n.UserID))
	item["expires_at"] = num(n.CreatedAt.Add(ttl).Unix())
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) {
		o, _ := conditionOld(err)["outcome"].(*types.AttributeValueMemberS)
		if o == nil {
			return "", true, nil
		}
		return o.Value, true, nil
	}
	if err != nil {
		return "", false, wrap("claim notification", err)
	}
	return "", false, nil
}

// SetOutcome: UpdateItem. 1 WCU.
func (db *Push) SetOutcome(ctx context.Context, userID, id, outcome string) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Users, Key: key(inboxPK(userID), inboxPrefix+id),
		UpdateExpression: aws.String("SET outcome = :o"), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(outcome)}})
	if err != nil && !IsConditionFailed(err) {
		return wrap("set notification outcome", err)
	}
	return nil
}

// ListInbox: one Query, newest first, limit + 1 items (so a full last
// page has no next token whatever the emulator does with
// LastEvaluatedKey). The token is the last sort key returned.
func (db *Push) ListInbox(ctx context.Context, userID string, limit int, page []byte) ([]push.InboxItem, []byte, error) {
	in := &dynamodb.QueryInput{TableName: &db.t.Users, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(limit + 1)),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :n)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(inboxPK(userID)), ":n": str(inboxPrefix)}}
	if len(page) > 0 {
		in.ExclusiveStartKey = key(inboxPK(userID), inboxPrefix+string(page))
	}
	out, err := db.client.Query(ctx, in)
	if err != nil {
		return nil, nil, wrap("query notifications", err)
	}
	var items []inboxItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, nil, wrap("decode notifications", err)
	}
	var res []push.InboxItem
	for _, it := range items {
		n := push.InboxItem{UserID: userID, ID: it.SK[len(inboxPrefix):], Title: it.Title, Body: it.Body, Data: it.Data, Link: it.Link,
			CreatedAt: time.UnixMilli(it.CreatedAt).UTC(), Outcome: it.Outcome}
		if it.ReadAt != 0 {
			r := time.UnixMilli(it.ReadAt).UTC()
			n.ReadAt = &r
		}
		res = append(res, n)
	}
	if len(res) > limit {
		res = res[:limit]
		return res, []byte(res[limit-1].ID), nil
	}
	return res, nil, nil
}

// UnreadIDs: one Query (consistent, keys only, filtered on read_at) per
// 1 MB of the user's notifications: about 1 RCU per 8 notifications
// kept, read or not (a filter does not reduce the read).
func (db *Push) UnreadIDs(ctx context.Context, userID, upTo string) ([]string, error) {
	cond := "pk = :pk AND begins_with(sk, :n)"
	vals := map[string]types.AttributeValue{":pk": str(inboxPK(userID)), ":n": str(inboxPrefix)}
	if upTo != "" {
		cond = "pk = :pk AND sk BETWEEN :n AND :up"
		vals[":up"] = str(inboxPrefix + upTo)
	}
	p := dynamodb.NewQueryPaginator(db.client, &dynamodb.QueryInput{TableName: &db.t.Users, ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression: &cond, FilterExpression: aws.String("attribute_not_exists(read_at)"), ProjectionExpression: aws.String("sk"),
		ExpressionAttributeValues: vals})
	out := []string{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query unread notifications", err)
		}
		for _, m := range page.Items {
			if sk, ok := m["sk"].(*types.AttributeValueMemberS); ok {
				out = append(out, sk.Value[len(inboxPrefix):])
			}
		}
	}
	return out, nil
}

// MarkRead: one UpdateItem per id, IF it exists and is unread. 1 WCU each.
func (db *Push) MarkRead(ctx context.Context, userID string, ids []string, at time.Time) (int, error) {
	n := 0
	for _, id := range ids {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Users, Key: key(inboxPK(userID), inboxPrefix+id),
			UpdateExpression:          aws.String("SET read_at = :t"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(read_at)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": num(at.UnixMilli())}})
		switch {
		case IsConditionFailed(err):
		case err != nil:
			return n, wrap("mark notification read", err)
		default:
			n++
		}
	}
	return n, nil
}

// BroadcastKey: GetItem (consistent) of the key's record. 1 RCU.
func (db *Push) BroadcastKey(ctx context.Context, idemKey string) (string, string, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key("BIDEM#"+idemKey, "IDEM"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", "", wrap("read broadcast idempotency key", err)
	}
	var rec struct {
		ID  string `dynamodbav:"id"`
		FP  string `dynamodbav:"fp"`
		Exp int64  `dynamodbav:"expires_at"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return "", "", wrap("decode broadcast idempotency key", err)
	}
	if rec.ID == "" || rec.Exp < time.Now().Unix() {
		return "", "", nil
	}
	return rec.ID, rec.FP, nil
}
