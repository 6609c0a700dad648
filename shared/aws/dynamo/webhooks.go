package dynamo

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/events"
	"github.com/tokenim/tokenim/shared/webhooks"
)

// Webhooks is the webhook endpoints and deliveries in their own table
// (WEBHOOKS_TABLE, docs/data-model.md "Webhooks table"):
//
//	endpoint:  pk "EP",               sk <endpoint id>
//	delivery:  pk "DL#<endpoint id>", sk <delivery id> ("<13-digit event ms>_<event id>")
//
// Every endpoint is in one partition (at most webhooks.MaxEndpoints: one
// Query lists them for each event); an endpoint's deliveries are one
// partition sorted by event time (newest-first pages, replay ranges).
// Deliveries leave by TTL (expires_at); every write is conditional.
type Webhooks struct {
	client *dynamodb.Client
	table  string
}

var _ webhooks.Store = (*Webhooks)(nil)

// NewWebhooks returns the adapter over table.
func NewWebhooks(client *dynamodb.Client, table string) *Webhooks {
	return &Webhooks{client: client, table: table}
}

const webhookEndpointsPK = "EP"

func webhookDeliveriesPK(endpointID string) string { return "DL#" + endpointID }

type webhookEndpointItem struct {
	PK          string   `dynamodbav:"pk"`
	SK          string   `dynamodbav:"sk"`
	URL         string   `dynamodbav:"url"`
	Types       []string `dynamodbav:"types,omitempty"`
	Secret      string   `dynamodbav:"secret"`
	PrevSecret  string   `dynamodbav:"prev_secret,omitempty"`
	PrevUntil   int64    `dynamodbav:"prev_until,omitempty"`
	Disabled    bool     `dynamodbav:"disabled"`
	DeadStreak  int      `dynamodbav:"dead_streak"`
	Description string   `dynamodbav:"description,omitempty"`
	CreatedAt   int64    `dynamodbav:"created_at"`
	UpdatedAt   int64    `dynamodbav:"updated_at"`
	Version     int64    `dynamodbav:"version"`
}

type webhookDeliveryItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	EventID   string `dynamodbav:"event_id"`
	Type      string `dynamodbav:"type"`
	EventTime int64  `dynamodbav:"event_time"`
	Body      string `dynamodbav:"body"`
	State     string `dynamodbav:"state"`
	Attempts  string `dynamodbav:"attempts,omitempty"` // JSON: []webhooks.Outcome
	Round     int    `dynamodbav:"round"`
	NextAt    int64  `dynamodbav:"next_at,omitempty"`
	CreatedAt int64  `dynamodbav:"created_at"`
	UpdatedAt int64  `dynamodbav:"updated_at"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	Version   int64  `dynamodbav:"version"`
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOfMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func encodeEndpoint(e webhooks.Endpoint) (map[string]types.AttributeValue, error) {
	it := webhookEndpointItem{PK: webhookEndpointsPK, SK: e.ID, URL: e.URL, Secret: e.Keys.Current, PrevSecret: e.Keys.Previous,
		PrevUntil: msOf(e.Keys.PreviousUntil), Disabled: e.Disabled, DeadStreak: e.DeadStreak, Description: e.Description,
		CreatedAt: msOf(e.CreatedAt), UpdatedAt: msOf(e.UpdatedAt), Version: e.Version}
	for _, t := range e.Types {
		it.Types = append(it.Types, string(t))
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, wrap("marshal webhook endpoint", err)
	}
	return item, nil
}

func decodeEndpoint(m map[string]types.AttributeValue) (webhooks.Endpoint, error) {
	var it webhookEndpointItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return webhooks.Endpoint{}, wrap("decode webhook endpoint", err)
	}
	e := webhooks.Endpoint{ID: it.SK, URL: it.URL, Keys: webhooks.Keys{Current: it.Secret, Previous: it.PrevSecret, PreviousUntil: timeOfMs(it.PrevUntil)},
		Disabled: it.Disabled, DeadStreak: it.DeadStreak, Description: it.Description, CreatedAt: timeOfMs(it.CreatedAt),
		UpdatedAt: timeOfMs(it.UpdatedAt), Version: it.Version}
	for _, t := range it.Types {
		e.Types = append(e.Types, events.Type(t))
	}
	return e, nil
}

// CreateEndpoint is one conditional PutItem (1 WCU).
func (db *Webhooks) CreateEndpoint(ctx context.Context, e webhooks.Endpoint) error {
	item, err := encodeEndpoint(e)
	if err != nil {
		return err
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if IsConditionFailed(err) {
		return webhooks.ErrConflict
	}
	if err != nil {
		return wrap("create webhook endpoint", err)
	}
	return nil
}

// GetEndpoint is one strongly consistent GetItem (1 RCU).
func (db *Webhooks) GetEndpoint(ctx context.Context, id string) (webhooks.Endpoint, error) {
	res, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.table, Key: key(webhookEndpointsPK, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return webhooks.Endpoint{}, wrap("get webhook endpoint", err)
	}
	if len(res.Item) == 0 {
		return webhooks.Endpoint{}, webhooks.ErrNotFound
	}
	return decodeEndpoint(res.Item)
}

// ListEndpoints is one eventually consistent Query (0.5 RCU per 4 KB:
// 20 endpoints fit in one or two).
func (db *Webhooks) ListEndpoints(ctx context.Context) ([]webhooks.Endpoint, error) {
	in := &dynamodb.QueryInput{TableName: &db.table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(webhookEndpointsPK)}}
	var out []webhooks.Endpoint
	for range 100 { // bounded: MaxEndpoints items are one or two pages
		res, err := db.client.Query(ctx, in)
		if err != nil {
			return nil, wrap("list webhook endpoints", err)
		}
		for _, m := range res.Items {
			e, err := decodeEndpoint(m)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	return out, nil
}

// UpdateEndpoint is one PutItem conditional on the version (1 WCU).
func (db *Webhooks) UpdateEndpoint(ctx context.Context, e webhooks.Endpoint, prev int64) error {
	item, err := encodeEndpoint(e)
	if err != nil {
		return err
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.table, Item: item,
		ConditionExpression:                 aws.String("attribute_exists(pk) AND version = :v"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) {
		if len(conditionOld(err)) == 0 {
			return webhooks.ErrNotFound
		}
		return webhooks.ErrConflict
	}
	if err != nil {
		return wrap("update webhook endpoint", err)
	}
	return nil
}

// DeleteEndpoint is one conditional DeleteItem (1 WCU).
func (db *Webhooks) DeleteEndpoint(ctx context.Context, id string) error {
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.table, Key: key(webhookEndpointsPK, id),
		ConditionExpression: aws.String("attribute_exists(pk)")})
	if IsConditionFailed(err) {
		return webhooks.ErrNotFound
	}
	if err != nil {
		return wrap("delete webhook endpoint", err)
	}
	return nil
}

func encodeDelivery(d webhooks.Delivery) (map[string]types.AttributeValue, error) {
	it := webhookDeliveryItem{PK: webhookDeliveriesPK(d.EndpointID), SK: d.ID, EventID: d.EventID, Type: string(d.Type),
		EventTime: msOf(d.EventTime), Body: string(d.Body), State: string(d.State), Round: d.Round, NextAt: msOf(d.NextAt),
		CreatedAt: msOf(d.CreatedAt), UpdatedAt: msOf(d.UpdatedAt), ExpiresAt: d.ExpiresAt, Version: d.Version}
	if len(d.Attempts) > 0 {
		b, err := json.Marshal(d.Attempts)
		if err != nil {
			return nil, wrap("marshal webhook attempts", err)
		}
		it.Attempts = string(b)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, wrap("marshal webhook delivery", err)
	}
	return item, nil
}

func decodeDelivery(m map[string]types.AttributeValue) (webhooks.Delivery, error) {
	var it webhookDeliveryItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return webhooks.Delivery{}, wrap("decode webhook delivery", err)
	}
	d := webhooks.Delivery{EndpointID: it.PK[len("DL#"):], ID: it.SK, EventID: it.EventID, Type: events.Type(it.Type),
		EventTime: timeOfMs(it.EventTime), Body: []byte(it.Body), State: webhooks.State(it.State), Round: it.Round,
		NextAt: timeOfMs(it.NextAt), CreatedAt: timeOfMs(it.CreatedAt), UpdatedAt: timeOfMs(it.UpdatedAt), ExpiresAt: it.ExpiresAt, Version: it.Version}
	if it.Attempts != "" {
		if err := json.Unmarshal([]byte(it.Attempts), &d.Attempts); err != nil {
			return webhooks.Delivery{}, wrap("decode webhook attempts", err)
		}
	}
	return d, nil
}

// CreateDelivery is one PutItem conditional on the key being new (1 WCU
// per KB of event and attempts); an existing delivery costs the same and
// is left as it is.
func (db *Webhooks) CreateDelivery(ctx context.Context, d webhooks.Delivery) (bool, error) {
	item, err := encodeDelivery(d)
	if err != nil {
		return false, err
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("create webhook delivery", err)
	}
	return true, nil
}

// GetDelivery is one strongly consistent GetItem (1 RCU per 4 KB).
func (db *Webhooks) GetDelivery(ctx context.Context, endpointID, id string) (webhooks.Delivery, error) {
	res, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.table, Key: key(webhookDeliveriesPK(endpointID), id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return webhooks.Delivery{}, wrap("get webhook delivery", err)
	}
	if len(res.Item) == 0 {
		return webhooks.Delivery{}, webhooks.ErrNotFound
	}
	return decodeDelivery(res.Item)
}

// UpdateDelivery is one PutItem conditional on the version (1 WCU per KB).
func (db *Webhooks) UpdateDelivery(ctx context.Context, d webhooks.Delivery, prev int64) error {
	item, err := encodeDelivery(d)
	if err != nil {
		return err
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.table, Item: item,
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}}})
	if IsConditionFailed(err) {
		return webhooks.ErrConflict
	}
	if err != nil {
		return wrap("update webhook delivery", err)
	}
	return nil
}

// ListDeliveries is one Query per page (0.5 RCU per 4 KB read).
func (db *Webhooks) ListDeliveries(ctx context.Context, q webhooks.DeliveryQuery) ([]webhooks.Delivery, string, error) {
	lo, hi := webhooks.DeliveryBounds(q.From, q.To)
	vals := map[string]types.AttributeValue{":pk": str(webhookDeliveriesPK(q.EndpointID)), ":lo": str(lo), ":hi": str(hi)}
	in := &dynamodb.QueryInput{TableName: &db.table, KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: vals, ScanIndexForward: aws.Bool(q.Ascending), Limit: aws.Int32(int32(q.Limit + 1))}
	if q.After != "" {
		in.ExclusiveStartKey = key(webhookDeliveriesPK(q.EndpointID), q.After)
	}
	var out []webhooks.Delivery
	for range 100 { // bounded: each page adds items or ends
		res, err := db.client.Query(ctx, in)
		if err != nil {
			return nil, "", wrap("list webhook deliveries", err)
		}
		for _, m := range res.Items {
			d, err := decodeDelivery(m)
			if err != nil {
				return nil, "", err
			}
			if d.ID >= hi { // BETWEEN includes :hi; the range is [lo, hi)
				continue
			}
			out = append(out, d)
		}
		if len(out) > q.Limit || len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	if len(out) > q.Limit {
		return out[:q.Limit], out[q.Limit-1].ID, nil
	}
	return out, "", nil
}
