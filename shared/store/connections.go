package store

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/realtime"
)

// Connection records live in the connections table under
// pk "USER#<user_id>", sk "CONN#<connection_id>" (docs/data-model.md), so
// one Query finds every open connection of a user.

type connItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	realtime.Connection
}

func connKey(userID, connID string) (string, string) { return "USER#" + userID, "CONN#" + connID }

// PutConnection stores a connection record (1 WCU).
func (db *DB) PutConnection(ctx context.Context, c realtime.Connection) error {
	pk, sk := connKey(c.UserID, c.ConnectionID)
	item, err := attributevalue.MarshalMap(connItem{PK: pk, SK: sk, Connection: c})
	if err != nil {
		return wrap("marshal connection", err)
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Connections, Item: item}); err != nil {
		return wrap("put connection", err)
	}
	return nil
}

// DeleteConnection removes a connection record; deleting a missing one is
// not an error ($disconnect may run after the TTL removed it).
func (db *DB) DeleteConnection(ctx context.Context, userID, connID string) error {
	pk, sk := connKey(userID, connID)
	if _, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Connections, Key: key(pk, sk)}); err != nil {
		return wrap("delete connection", err)
	}
	return nil
}

// UserConnections lists a user's connections whose TTL has not passed
// (DynamoDB deletes expired items only eventually, so they are filtered).
func (db *DB) UserConnections(ctx context.Context, userID string, now time.Time) ([]realtime.Connection, error) {
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
