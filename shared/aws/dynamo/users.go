package dynamo

import (
	"context"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/users"
)

// Users are spread over UserShards partitions: pk "US#<shard>", sk the user
// id. A GetItem computes the shard from the id; listing queries the shards
// in turn. This lists users without a Scan and without a GSI, so creating a
// user costs exactly one write unit (a GSI would double it), and spreads
// writes over 16 partitions (16 x 1,000 WCU/s) for bulk imports.
const UserShards = 16

func userShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % UserShards)
}

func userPK(shard int) string { return "US#" + strconv.Itoa(shard) }

// UserKey is the key of a user item.
func UserKey(id string) map[string]types.AttributeValue { return key(userPK(userShard(id)), id) }

type userItem struct {
	PK        string            `dynamodbav:"pk"`
	SK        string            `dynamodbav:"sk"`
	Nickname  string            `dynamodbav:"nickname,omitempty"`
	AvatarURL string            `dynamodbav:"avatar_url,omitempty"`
	Metadata  map[string]string `dynamodbav:"metadata,omitempty"`
	CreatedAt int64             `dynamodbav:"created_at"`
	UpdatedAt int64             `dynamodbav:"updated_at"`
	Gen       int64             `dynamodbav:"gen"`
	IdemKey   string            `dynamodbav:"idem_key,omitempty"`
	JobID     string            `dynamodbav:"job_id,omitempty"`
	Source    string            `dynamodbav:"source,omitempty"`
	// The last Idempotency-Key applied by PUT, its request fingerprint and
	// the generation that call proposed (equal to gen if it created the user).
	UpsertKey string `dynamodbav:"upsert_key,omitempty"`
	UpsertFP  string `dynamodbav:"upsert_fp,omitempty"`
	UpsertGen int64  `dynamodbav:"upsert_gen,omitempty"`
}

func toUserItem(u users.User) userItem {
	return userItem{PK: userPK(userShard(u.UserID)), SK: u.UserID, Nickname: u.Nickname, AvatarURL: u.AvatarURL,
		Metadata: u.Metadata, CreatedAt: u.CreatedAt.UnixMilli(), UpdatedAt: u.UpdatedAt.UnixMilli(), Gen: u.Gen, IdemKey: u.IdempotencyKey, Source: u.Source}
}

func (it userItem) user() users.User {
	return users.User{UserID: it.SK, Nickname: it.Nickname, AvatarURL: it.AvatarURL, Metadata: it.Metadata,
		CreatedAt: time.UnixMilli(it.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(it.UpdatedAt).UTC(), Gen: it.Gen, IdempotencyKey: it.IdemKey, Source: it.Source}
}

func decodeUser(m map[string]types.AttributeValue) (users.User, error) {
	var it userItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return users.User{}, err
	}
	return it.user(), nil
}

// UserItem marshals u as stored (batch import writes it directly).
func UserItem(u users.User, jobID string) (map[string]types.AttributeValue, error) {
	it := toUserItem(u)
	it.JobID = jobID
	return attributevalue.MarshalMap(it)
}

// DecodeUserItem reads a stored user item and the job that created it.
func DecodeUserItem(m map[string]types.AttributeValue) (users.User, string, error) {
	var it userItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return users.User{}, "", err
	}
	return it.user(), it.JobID, nil
}

// PutUserIfAbsent writes u with attribute_not_exists; 1 WCU.
func (db *Users) PutUserIfAbsent(ctx context.Context, u users.User) (*users.User, error) {
	item, err := attributevalue.MarshalMap(toUserItem(u))
	if err != nil {
		return nil, wrap("marshal user", err)
	}
	withWriteToken(item)
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &db.t.Users,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if IsConditionFailed(err) && ownWrite(err, item) {
		return nil, nil // an applied attempt, retried by the SDK
	}
	if IsConditionFailed(err) {
		var old *users.User
		if m := conditionOld(err); m != nil {
			if o, derr := decodeUser(m); derr == nil {
				old = &o
			}
		}
		return old, users.Exists(u.UserID)
	}
	if err != nil {
		return nil, wrap("put user", err)
	}
	return nil, nil
}

// GetUser reads a user (strongly consistent: a just-created user is
// visible). 1 RCU.
func (db *Users) GetUser(ctx context.Context, id string) (users.User, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: UserKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return users.User{}, wrap("get user", err)
	}
	if out.Item == nil {
		return users.User{}, users.NotFound(id)
	}
	u, err := decodeUser(out.Item)
	if err != nil {
		return users.User{}, wrap("decode user", err)
	}
	return u, nil
}

// UserGen returns a user's generation, or 0 if the user does not exist.
// Strongly consistent so a deleted user's token fails at once: 1 RCU.
func (db *Users) UserGen(ctx context.Context, id string) (int64, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: UserKey(id),
		ProjectionExpression: aws.String("gen"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, wrap("get user gen", err)
	}
	if out.Item == nil {
		return 0, nil
	}
	var v struct {
		Gen int64 `dynamodbav:"gen"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &v); err != nil {
		return 0, wrap("decode gen", err)
	}
	return v.Gen, nil
}

// UpdateProfile applies patch to an existing user; 1 WCU.
func (db *Users) UpdateProfile(ctx context.Context, id string, p users.Patch, now time.Time) (users.User, error) {
	upd := newProfileUpdate(now)
	upd.str("nickname", p.Nickname)
	upd.str("avatar_url", p.AvatarURL)
	if err := upd.metadata(p.Metadata); err != nil {
		return users.User{}, err
	}
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &db.t.Users, Key: UserKey(id),
		UpdateExpression:          upd.expression(),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  upd.names,
		ExpressionAttributeValues: upd.vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if IsConditionFailed(err) {
		return users.User{}, users.NotFound(id)
	}
	if err != nil {
		return users.User{}, wrap("update user", err)
	}
	u, err := decodeUser(out.Attributes)
	if err != nil {
		return users.User{}, wrap("decode user", err)
	}
	return u, nil
}

// UpsertUser creates the user or updates the patched fields in one
// UpdateItem (1 WCU): created_at and gen are set only if absent, so the
// write creates the item exactly when gen ends up equal to w.Gen. With an
// idempotency key the write is conditional on the key not being the last
// one applied; if it is, nothing is written and the stored user returns.
func (db *Users) UpsertUser(ctx context.Context, w users.UpsertWrite) (users.Upserted, error) {
	upd := newProfileUpdate(w.Now)
	upd.str("nickname", w.Patch.Nickname)
	upd.str("avatar_url", w.Patch.AvatarURL)
	if err := upd.metadata(w.Patch.Metadata); err != nil {
		return users.Upserted{}, err
	}
	upd.set = append(upd.set, "created_at = if_not_exists(created_at, :updated_at)", "gen = if_not_exists(gen, :gen)")
	upd.vals[":gen"] = num(w.Gen)
	in := &dynamodb.UpdateItemInput{
		TableName: &db.t.Users, Key: UserKey(w.UserID),
		ReturnValues: types.ReturnValueAllNew,
	}
	if w.IdemKey != "" {
		upd.set = append(upd.set, "upsert_key = :upsert_key", "upsert_fp = :upsert_fp", "upsert_gen = :gen")
		upd.vals[":upsert_key"] = str(w.IdemKey)
		upd.vals[":upsert_fp"] = str(w.Fingerprint)
		in.ConditionExpression = aws.String("attribute_not_exists(upsert_key) OR upsert_key <> :upsert_key")
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	in.UpdateExpression = upd.expression()
	in.ExpressionAttributeNames = upd.names
	in.ExpressionAttributeValues = upd.vals
	if len(in.ExpressionAttributeNames) == 0 {
		in.ExpressionAttributeNames = nil // DynamoDB refuses an empty map
	}
	out, err := db.client.UpdateItem(ctx, in)
	if IsConditionFailed(err) {
		var it userItem
		if uerr := attributevalue.UnmarshalMap(conditionOld(err), &it); uerr != nil || it.SK == "" {
			return users.Upserted{}, wrap("upsert user: decode replayed item", err)
		}
		return users.Upserted{User: it.user(), Created: it.UpsertGen == it.Gen, Replayed: true, Fingerprint: it.UpsertFP}, nil
	}
	if err != nil {
		return users.Upserted{}, wrap("upsert user", err)
	}
	u, err := decodeUser(out.Attributes)
	if err != nil {
		return users.Upserted{}, wrap("decode user", err)
	}
	return users.Upserted{User: u, Created: u.Gen == w.Gen}, nil
}

// DeleteUser removes a user; not_found if absent. 1 WCU.
func (db *Users) DeleteUser(ctx context.Context, id string) (users.User, error) {
	out, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &db.t.Users, Key: UserKey(id),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ReturnValues:        types.ReturnValueAllOld,
	})
	if IsConditionFailed(err) {
		return users.User{}, users.NotFound(id)
	}
	if err != nil {
		return users.User{}, wrap("delete user", err)
	}
	u, err := decodeUser(out.Attributes)
	if err != nil {
		return users.User{}, wrap("decode user", err)
	}
	return u, nil
}

// ListUsers queries the shards in order, resuming at page. The page token
// carries the shard index and DynamoDB's start key within it.
func (db *Users) ListUsers(ctx context.Context, limit int, page []byte) ([]users.User, []byte, error) {
	shard, start, err := decodePage(page)
	if err != nil || shard < 0 || shard >= UserShards {
		return nil, nil, errBadPage
	}
	var out []users.User
	for shard < UserShards {
		res, err := db.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &db.t.Users,
			KeyConditionExpression:    aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: userPK(shard)}},
			ExclusiveStartKey:         start,
			Limit:                     aws.Int32(int32(limit - len(out))),
		})
		if err != nil {
			return nil, nil, wrap("list users", err)
		}
		for _, it := range res.Items {
			u, err := decodeUser(it)
			if err != nil {
				return nil, nil, wrap("decode user", err)
			}
			out = append(out, u)
		}
		start = res.LastEvaluatedKey
		if len(start) == 0 {
			shard++
		}
		if len(out) >= limit {
			break
		}
	}
	if shard >= UserShards {
		return out, nil, nil
	}
	next, err := encodePage(shard, start)
	return out, next, err
}

// ClaimIdempotencyKey stores scope/key -> fingerprint unless present and
// returns the existing fingerprint if it was. Items expire by TTL. 1 WCU.
func (db *Users) ClaimIdempotencyKey(ctx context.Context, scope, k, fp string, ttl time.Duration) (string, error) {
	item := key("IDEM#"+scope+"#"+k, "IDEM")
	item["fp"] = &types.AttributeValueMemberS{Value: fp}
	item["expires_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(ttl).Unix(), 10)}
	_, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &db.t.Users, Item: item,
		// An expired-but-not-yet-deleted record (TTL deletes lazily) counts as absent.
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR expires_at < :now"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Unix(), 10)}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if IsConditionFailed(err) {
		if s, ok := conditionOld(err)["fp"].(*types.AttributeValueMemberS); ok {
			return s.Value, nil
		}
		return "", wrap("claim idempotency key", err)
	}
	if err != nil {
		return "", wrap("claim idempotency key", err)
	}
	return "", nil
}
