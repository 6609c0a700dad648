package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/auth"
)

// App credentials live in the users table under pk "CRED#<key id>".

type credItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	auth.Credential
}

// PutCredential stores a new credential (never overwriting one).
func (db *Credentials) PutCredential(ctx context.Context, c auth.Credential) error {
	item, err := attributevalue.MarshalMap(credItem{PK: "CRED#" + c.KeyID, SK: "CRED", Credential: c})
	if err != nil {
		return wrap("marshal credential", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err != nil {
		return wrap("put credential", err)
	}
	return nil
}

// GetCredential returns the credential or nil if the key id is unknown.
func (db *Credentials) GetCredential(ctx context.Context, keyID string) (*auth.Credential, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key("CRED#"+keyID, "CRED"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap("get credential", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	var it credItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, wrap("decode credential", err)
	}
	return &it.Credential, nil
}
