package dynamo

// Upload records and the per-user daily upload quota (attachments.Store),
// in the messages table beside the conversations they belong to:
//
//	pk UPLOAD#<upload_id>       sk UPLOAD      the record (expires_at: a day, removed once attached)
//	pk UPLOADQ#<user_id>        sk DAY#<date>  the day's count (expires_at: two days)

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/chat"
)

// Uploads stores upload records (messages table).
type Uploads struct{ base }

var _ attachments.Store = (*Uploads)(nil)

// NewUploads returns the upload store over client and t.
func NewUploads(client *dynamodb.Client, t Tables) *Uploads {
	return &Uploads{base{client: client, t: t}}
}

const uploadSK = "UPLOAD"

func uploadPK(id string) string { return "UPLOAD#" + id }

type uploadItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	ID          string `dynamodbav:"id"`
	Owner       string `dynamodbav:"owner"`
	Conv        string `dynamodbav:"conv"`
	Name        string `dynamodbav:"name"`
	Type        string `dynamodbav:"ctype"`
	Size        int64  `dynamodbav:"size"`
	Key         string `dynamodbav:"okey"`
	CreatedAt   int64  `dynamodbav:"created_at"`
	AttachedRef string `dynamodbav:"att_ref,omitempty"`
	AttachedAt  int64  `dynamodbav:"att_at,omitempty"`
	ExpiresAt   int64  `dynamodbav:"expires_at,omitempty"`
	MPU         string `dynamodbav:"mpu,omitempty"` // S3 multipart upload id
}

// ConsumeUploadQuota: UpdateItem ADD n IF n < :max. 1 WCU.
func (db *Uploads) ConsumeUploadQuota(ctx context.Context, user, day string, max int) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key("UPLOADQ#"+user, "DAY#"+day),
		UpdateExpression:          aws.String("ADD n :one SET expires_at = :exp"),
		ConditionExpression:       aws.String("attribute_not_exists(n) OR n < :max"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(int64(max)), ":exp": num(time.Now().Add(48 * time.Hour).Unix())}})
	if IsConditionFailed(err) {
		return apierror.New(apierror.QuotaExceeded, "The daily quota of %d uploads is used up; retry tomorrow (UTC).", max).
			WithDetails(map[string]string{"limit": "uploads_per_user_per_day"})
	}
	if err != nil {
		return wrap("consume upload quota", err)
	}
	return nil
}

// PutUpload: PutItem (new id, never overwrites). 1 WCU.
func (db *Uploads) PutUpload(ctx context.Context, u attachments.Upload, expires time.Time) error {
	item, err := attributevalue.MarshalMap(uploadItem{PK: uploadPK(u.UploadID), SK: uploadSK, ID: u.UploadID, Owner: u.OwnerID,
		Conv: string(u.ConversationID), Name: u.Name, Type: u.ContentType, Size: u.Size, Key: u.Key, CreatedAt: u.CreatedAt.UnixMilli(),
		ExpiresAt: expires.Unix(), MPU: u.MultipartID})
	if err != nil {
		return wrap("marshal upload", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Messages, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err != nil {
		return wrap("put upload", err)
	}
	return nil
}

// GetUploads: one consistent BatchGetItem (at most chat.MaxAttachments keys).
func (db *Uploads) GetUploads(ctx context.Context, ids []string) (map[string]attachments.Upload, error) {
	out := map[string]attachments.Upload{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, key(uploadPK(id), uploadSK))
		}
	}
	req := map[string]types.KeysAndAttributes{db.t.Messages: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	err := db.batchRead(ctx, "get uploads", req, func(_ string, item map[string]types.AttributeValue) error {
		var it uploadItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return wrap("decode upload", err)
		}
		u := attachments.Upload{UploadID: it.ID, OwnerID: it.Owner, ConversationID: chat.ConversationID(it.Conv), Name: it.Name,
			ContentType: it.Type, Size: it.Size, Key: it.Key, CreatedAt: fromMS(it.CreatedAt), AttachedRef: it.AttachedRef,
			MultipartID: it.MPU}
		if it.AttachedAt != 0 {
			u.AttachedAt = fromMS(it.AttachedAt)
		}
		out[it.ID] = u
		return nil
	})
	return out, err
}

// MarkAttached: one TransactWriteItems of one conditional update per
// upload (2 WCU each), so all are marked or none. The TTL is removed: an
// attached upload lives as long as the message.
func (db *Uploads) MarkAttached(ctx context.Context, ids []string, owner, ref string, at time.Time) error {
	items := make([]types.TransactWriteItem, 0, len(ids))
	for _, id := range ids {
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &db.t.Messages, Key: key(uploadPK(id), uploadSK),
			UpdateExpression:          aws.String("SET att_ref = :r, att_at = :at REMOVE expires_at"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND #o = :o AND (attribute_not_exists(att_ref) OR att_ref = :r)"),
			ExpressionAttributeNames:  map[string]string{"#o": "owner"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(ref), ":at": num(at.UnixMilli()), ":o": str(owner)}}})
	}
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if rs := cancelReasons(err); rs != nil {
		for _, r := range rs {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return attachments.ErrAttached
			}
		}
		return wrap("mark uploads attached", fmt.Errorf("transaction cancelled: %w", err))
	}
	if err != nil {
		return wrap("mark uploads attached", err)
	}
	return nil
}

// ReleaseAttached: one conditional UpdateItem per upload (1 WCU each); an
// upload ref no longer holds (or gone) is left alone.
func (db *Uploads) ReleaseAttached(ctx context.Context, ids []string, ref string, expires time.Time) error {
	for _, id := range ids {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(uploadPK(id), uploadSK),
			UpdateExpression:          aws.String("SET expires_at = :e REMOVE att_ref, att_at"),
			ConditionExpression:       aws.String("att_ref = :r"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(ref), ":e": num(expires.Unix())}})
		if err != nil && !IsConditionFailed(err) {
			return wrap("release upload", err)
		}
	}
	return nil
}

// DeleteUploads: one BatchWriteItem of deletes (at most chat.MaxAttachments).
func (db *Uploads) DeleteUploads(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	reqs := make([]types.WriteRequest, 0, len(ids))
	for _, id := range ids {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(uploadPK(id), uploadSK)}})
	}
	return db.batchWrite(ctx, "delete uploads", map[string][]types.WriteRequest{db.t.Messages: reqs})
}
