package bench

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/testenv"
)

// TestMeterBillsBySize: the meter bills each DynamoDB request from the
// sizes of the items it touched, as AWS does, whatever the emulator
// reports (emulator tier: it makes real requests).
func TestMeterBillsBySize(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	ctx := context.Background()
	table := env.Tables.Jobs
	pk := testenv.ID("meter")
	item := func(sk string, bytes int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
			"v": &types.AttributeValueMemberS{Value: strings.Repeat("x", bytes)}}
	}
	key := func(sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
	}
	m := NewMeter(env.Cfg)
	db := dynamodb.NewFromConfig(m.Attach(env.Cfg))
	for _, tc := range []struct {
		name        string
		call        func() error
		read, write float64
	}{
		{"put of 1.5 KB: 2 write units", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item("a", 1500)})
			return err
		}, 0, 2},
		{"update growing it to 3 KB: the larger image, 3 units", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: key("a"), UpdateExpression: aws.String("SET v = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: strings.Repeat("y", 3000)}}})
			return err
		}, 0, 3},
		{"transactional put of 500 bytes: doubled", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{TableName: &table, Item: item("b", 500)}}}})
			return err
		}, 0, 2},
		{"put of 2 KB + 1 byte, names and key included: 3 units", func() error {
			// "pk" + pk + "sk" + "c" + "v" + value = 2,049 bytes
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item("c", 2049-6-len(pk))})
			return err
		}, 0, 3},
		{"eventually consistent get of 3 KB: half a unit", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("a")})
			return err
		}, 0.5, 0},
		{"projected consistent get: billed on the whole item", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("a"), ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("sk")})
			return err
		}, 1, 0},
		{"consistent query of 3 + 0.5 + 2 KB: one total, rounded once", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String("pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: pk}}})
			return err
		}, 2, 0},
		{"filtered query: billed on what it read, not what it returned", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String("pk = :p"),
				FilterExpression: aws.String("v = :none"), ExpressionAttributeValues: map[string]types.AttributeValue{
					":p": &types.AttributeValueMemberS{Value: pk}, ":none": &types.AttributeValueMemberS{Value: "none"}}})
			return err
		}, 2, 0},
		{"batch get of two items and a missing key: each rounded on its own", func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				table: {Keys: []map[string]types.AttributeValue{key("a"), key("b"), key("missing")}}}})
			return err
		}, 1.5, 0},
		{"delete of the 3 KB item: 3 units", func() error {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key("a")})
			return err
		}, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.Reset()
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			s := m.Snapshot()
			if math.Abs(s.ReadUnits-tc.read) > 1e-9 || math.Abs(s.WriteUnits-tc.write) > 1e-9 {
				t.Errorf("billed %.2f RU %.2f WU, want %.2f RU %.2f WU", s.ReadUnits, s.WriteUnits, tc.read, tc.write)
			}
		})
	}
}
