package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// RevokeCredential marks an app credential revoked as an operator does:
// the revoked attribute of its item in the users table (docs/data-model.md;
// there is no API for it).
func RevokeCredential(t testing.TB, cfg aws.Config, usersTable, keyID string) {
	t.Helper()
	_, err := dynamodb.NewFromConfig(cfg).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(usersTable),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CRED#" + keyID},
			"sk": &types.AttributeValueMemberS{Value: "CRED"}},
		UpdateExpression:          aws.String("SET revoked = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
		ConditionExpression:       aws.String("attribute_exists(pk)"),
	})
	if err != nil {
		t.Fatal(err)
	}
}
