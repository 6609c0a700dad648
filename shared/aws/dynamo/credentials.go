package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/auth"
)

// App credentials live in the users table under pk "CRED#<key id>" (the
// item every token request and every admin-token authorization reads).
// A listing copy lives under pk "CREDS", sk "<key id>", so GET
// /v1/credentials is one Query of one small partition, never a Scan of
// the users table. The copy is written with the credential (one
// transaction) and after each change; credentials made before the listing
// existed appear in it once they are first changed (docs/data-model.md).

var _ auth.CredentialDirectory = (*Credentials)(nil)

const credListPK = "CREDS"

type credItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	auth.Credential
}

func credKey(keyID string) map[string]types.AttributeValue { return key("CRED#"+keyID, "CRED") }

func credListItem(c auth.Credential) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(credItem{PK: credListPK, SK: c.KeyID, Credential: c})
}

// PutCredential stores a new credential (never overwriting one) and its
// listing copy, in one transaction (2 WCU x 2: transactional writes).
func (db *Credentials) PutCredential(ctx context.Context, c auth.Credential) error {
	item, err := attributevalue.MarshalMap(credItem{PK: "CRED#" + c.KeyID, SK: "CRED", Credential: c})
	if err != nil {
		return wrap("marshal credential", err)
	}
	list, err := credListItem(c)
	if err != nil {
		return wrap("marshal credential", err)
	}
	_, err = db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &db.t.Users, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: &db.t.Users, Item: list}},
	}})
	if err != nil {
		return wrap("put credential", err)
	}
	return nil
}

// GetCredential returns the credential or nil if the key id is unknown.
func (db *Credentials) GetCredential(ctx context.Context, keyID string) (*auth.Credential, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: credKey(keyID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap("get credential", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return decodeCredential(out.Item)
}

func decodeCredential(item map[string]types.AttributeValue) (*auth.Credential, error) {
	var it credItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, wrap("decode credential", err)
	}
	return &it.Credential, nil
}

// ListCredentials queries the listing partition in key-id order. It asks
// for one more than limit to tell whether more follow.
func (db *Credentials) ListCredentials(ctx context.Context, after string, limit int) ([]auth.Credential, bool, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &db.t.Users,
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(credListPK)},
		Limit:                     aws.Int32(int32(limit + 1)),
		ConsistentRead:            aws.Bool(true),
	}
	if after != "" { // a key condition cannot compare with ""
		in.KeyConditionExpression = aws.String("pk = :p AND sk > :a")
		in.ExpressionAttributeValues[":a"] = str(after)
	}
	var out []auth.Credential
	for len(out) <= limit {
		res, err := db.client.Query(ctx, in)
		if err != nil {
			return nil, false, wrap("list credentials", err)
		}
		for _, it := range res.Items {
			c, err := decodeCredential(it)
			if err != nil {
				return nil, false, err
			}
			out = append(out, *c)
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// SetCredentialDisabled updates the credential (the one the authorizer
// reads: the change holds from the next request) and then refreshes its
// listing copy. If the second write fails the request fails, and a retry
// repairs the copy.
func (db *Credentials) SetCredentialDisabled(ctx context.Context, keyID string, disabled bool, now int64) (*auth.Credential, error) {
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &db.t.Users,
		Key:                 credKey(keyID),
		UpdateExpression:    aws.String("SET revoked = :d, updated_at = :n"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberBOOL{Value: disabled},
			":n": num(now),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if IsConditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("update credential", err)
	}
	c, err := decodeCredential(out.Attributes)
	if err != nil {
		return nil, err
	}
	list, err := credListItem(*c)
	if err != nil {
		return nil, wrap("marshal credential", err)
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: list}); err != nil {
		return nil, wrap("put credential listing", err)
	}
	return c, nil
}

// DeleteCredential deletes the credential first (it stops working at
// once), then its listing copy.
func (db *Credentials) DeleteCredential(ctx context.Context, keyID string) (bool, error) {
	out, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: credKey(keyID), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return false, wrap("delete credential", err)
	}
	if _, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: key(credListPK, keyID)}); err != nil {
		return false, wrap("delete credential listing", err)
	}
	return len(out.Attributes) > 0, nil
}
