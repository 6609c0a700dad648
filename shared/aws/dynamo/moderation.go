package dynamo

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/moderation"
)

// Moderation stores moderation state in the users table
// (docs/data-model.md, "Moderation"):
//   - a ban and an app-wide role are attributes of the user item, so the
//     authorizer's one read of a user token's user gets them for free,
//     and they go with the user when it is deleted;
//   - a blocklist entry is pk "BLK#<user>", sk "<blocked>";
//   - the word filter is one item, pk "MOD#WORDS";
//   - reports are pk "RPT", sk "<report id>" (ids sort by time);
//   - app-defined roles are one item, pk "MOD#ROLES" (a map), read once
//     per sandbox per 30 s.
type Moderation struct{ base }

var _ moderation.Store = (*Moderation)(nil)

// ModerationOf is the moderation adapter over c's client and tables: the
// realtime notifier, built over c, reads blocklists with it.
func ModerationOf(c *Connections) *Moderation { return &Moderation{c.base} }

// NewModeration returns the adapter over client and tables.
func NewModeration(client *dynamodb.Client, t Tables) *Moderation {
	return &Moderation{base{client: client, t: t}}
}

const (
	wordsPK   = "MOD#WORDS"
	rolesPK   = "MOD#ROLES"
	reportsPK = "RPT"
	modSK     = "MOD"
)

func blockPK(userID string) string { return "BLK#" + userID }

// UserStatus reads gen, role and ban: one consistent GetItem with a
// projection, the read the authorizer made for gen alone (1 RCU).
func (db *Moderation) UserStatus(ctx context.Context, userID string) (auth.UserStatus, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: UserKey(userID), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("gen, #role, banned, ban_reason, ban_until, ban_by, ban_at"),
		ExpressionAttributeNames: map[string]string{"#role": "role"}})
	if err != nil {
		return auth.UserStatus{}, wrap("get user status", err)
	}
	if out.Item == nil {
		return auth.UserStatus{}, nil
	}
	var v struct {
		Gen       int64  `dynamodbav:"gen"`
		Role      string `dynamodbav:"role"`
		Banned    bool   `dynamodbav:"banned"`
		BanReason string `dynamodbav:"ban_reason"`
		BanUntil  int64  `dynamodbav:"ban_until"`
		BanBy     string `dynamodbav:"ban_by"`
		BanAt     int64  `dynamodbav:"ban_at"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &v); err != nil {
		return auth.UserStatus{}, wrap("decode user status", err)
	}
	st := auth.UserStatus{Gen: v.Gen, Role: v.Role}
	if v.Banned {
		st.Ban = &auth.Ban{Reason: v.BanReason, Until: v.BanUntil, By: v.BanBy, At: v.BanAt}
	}
	return st, nil
}

// updateUser applies expr to an existing user item; false if none (1 WCU).
func (db *Moderation) updateUser(ctx context.Context, op, userID, expr string, names map[string]string, values map[string]types.AttributeValue) (bool, error) {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Users, Key: UserKey(userID),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}

// SetBan writes the ban attributes on the user item.
func (db *Moderation) SetBan(ctx context.Context, userID string, b auth.Ban) (bool, error) {
	return db.updateUser(ctx, "ban user", userID, "SET banned = :t, ban_reason = :r, ban_until = :u, ban_by = :b, ban_at = :a", nil,
		map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":r": str(b.Reason),
			":u": num(b.Until), ":b": str(b.By), ":a": num(b.At)})
}

// ClearBan removes them.
func (db *Moderation) ClearBan(ctx context.Context, userID string) (bool, error) {
	return db.updateUser(ctx, "unban user", userID, "REMOVE banned, ban_reason, ban_until, ban_by, ban_at", nil, nil)
}

// SetRole sets or removes the role attribute.
func (db *Moderation) SetRole(ctx context.Context, userID, role string) (bool, error) {
	names := map[string]string{"#role": "role"}
	if role == "" {
		return db.updateUser(ctx, "clear role", userID, "REMOVE #role", names, nil)
	}
	return db.updateUser(ctx, "set role", userID, "SET #role = :r", names, map[string]types.AttributeValue{":r": str(role)})
}

// PutBlock writes the entry (idempotent; 1 WCU).
func (db *Moderation) PutBlock(ctx context.Context, b moderation.Block) error {
	_, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: map[string]types.AttributeValue{
		attrPK: str(blockPK(b.UserID)), attrSK: str(b.BlockedID), "at": num(b.At)}})
	if err != nil {
		return wrap("put block", err)
	}
	return nil
}

// DeleteBlock removes the entry (1 WCU).
func (db *Moderation) DeleteBlock(ctx context.Context, userID, blockedID string) (bool, error) {
	out, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: key(blockPK(userID), blockedID), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return false, wrap("delete block", err)
	}
	return len(out.Attributes) > 0, nil
}

// ListBlocks queries the user's entries.
func (db *Moderation) ListBlocks(ctx context.Context, userID, after string, limit int) ([]moderation.Block, bool, error) {
	in := &dynamodb.QueryInput{TableName: &db.t.Users, KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(blockPK(userID))}, Limit: aws.Int32(int32(limit + 1))}
	if after != "" {
		in.KeyConditionExpression = aws.String("pk = :p AND sk > :a")
		in.ExpressionAttributeValues[":a"] = str(after)
	}
	items, err := db.queryUpTo(ctx, in, limit+1)
	if err != nil {
		return nil, false, wrap("list blocks", err)
	}
	out := make([]moderation.Block, 0, len(items))
	for _, it := range items {
		var v struct {
			SK string `dynamodbav:"sk"`
			At int64  `dynamodbav:"at"`
		}
		if err := attributevalue.UnmarshalMap(it, &v); err != nil {
			return nil, false, wrap("decode block", err)
		}
		out = append(out, moderation.Block{UserID: userID, BlockedID: v.SK, At: v.At})
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// queryUpTo follows pages until n items or the end.
func (db *Moderation) queryUpTo(ctx context.Context, in *dynamodb.QueryInput, n int) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for len(out) < n {
		res, err := db.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Items...)
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	return out, nil
}

// IsBlocked reads one entry (eventually consistent: 0.5 RCU).
func (db *Moderation) IsBlocked(ctx context.Context, userID, otherID string) (bool, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(blockPK(userID), otherID),
		ProjectionExpression: aws.String("pk")})
	if err != nil {
		return false, wrap("get block", err)
	}
	return out.Item != nil, nil
}

// BlockersOf returns those of recipients who blocked sender: their
// entries (BLK#<recipient>, <sender>) read with one BatchGetItem per 100,
// eventually consistent (0.5 RCU a key, found or not).
func (db *Moderation) BlockersOf(ctx context.Context, sender string, recipients []string) ([]string, error) {
	var out []string
	for start := 0; start < len(recipients); start += 100 {
		part := recipients[start:min(start+100, len(recipients))]
		keys := make([]map[string]types.AttributeValue, len(part))
		for i, r := range part {
			keys[i] = key(blockPK(r), sender)
		}
		req := map[string]types.KeysAndAttributes{db.t.Users: {Keys: keys, ProjectionExpression: aws.String("pk")}}
		err := db.batchRead(ctx, "get blocks", req, func(_ string, item map[string]types.AttributeValue) error {
			if pk, ok := item[attrPK].(*types.AttributeValueMemberS); ok {
				out = append(out, strings.TrimPrefix(pk.Value, blockPK("")))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

type wordsItem struct {
	PK        string   `dynamodbav:"pk"`
	SK        string   `dynamodbav:"sk"`
	Action    string   `dynamodbav:"action"`
	Words     []string `dynamodbav:"words"`
	UpdatedAt int64    `dynamodbav:"updated_at"`
	UpdatedBy string   `dynamodbav:"updated_by"`
}

// GetWordFilter reads the filter item (consistent).
func (db *Moderation) GetWordFilter(ctx context.Context) (moderation.WordFilter, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(wordsPK, modSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return moderation.WordFilter{}, wrap("get word filter", err)
	}
	if out.Item == nil {
		return moderation.WordFilter{}, nil
	}
	var it wordsItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return moderation.WordFilter{}, wrap("decode word filter", err)
	}
	return moderation.WordFilter{Action: it.Action, Words: it.Words, UpdatedAt: it.UpdatedAt, UpdatedBy: it.UpdatedBy}, nil
}

// PutWordFilter replaces the filter item.
func (db *Moderation) PutWordFilter(ctx context.Context, f moderation.WordFilter) error {
	item, err := attributevalue.MarshalMap(wordsItem{PK: wordsPK, SK: modSK, Action: f.Action, Words: f.Words, UpdatedAt: f.UpdatedAt, UpdatedBy: f.UpdatedBy})
	if err != nil {
		return wrap("marshal word filter", err)
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: item}); err != nil {
		return wrap("put word filter", err)
	}
	return nil
}

type reportItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	ReporterID     string `dynamodbav:"reporter_id"`
	ConversationID string `dynamodbav:"conversation_id"`
	Seq            int64  `dynamodbav:"seq"`
	SenderID       string `dynamodbav:"sender_id,omitempty"`
	Text           string `dynamodbav:"text,omitempty"`
	Reason         string `dynamodbav:"reason"`
	Status         string `dynamodbav:"status"`
	CreatedAt      int64  `dynamodbav:"created_at"`
	ResolvedBy     string `dynamodbav:"resolved_by,omitempty"`
	Resolution     string `dynamodbav:"resolution,omitempty"`
	ResolvedAt     int64  `dynamodbav:"resolved_at,omitempty"`
}

func (it reportItem) report() moderation.Report {
	return moderation.Report{ReportID: it.SK, ReporterID: it.ReporterID, ConversationID: it.ConversationID, Seq: it.Seq,
		SenderID: it.SenderID, Text: it.Text, Reason: it.Reason, Status: it.Status, CreatedAt: it.CreatedAt,
		ResolvedBy: it.ResolvedBy, Resolution: it.Resolution, ResolvedAt: it.ResolvedAt}
}

func decodeReport(m map[string]types.AttributeValue) (moderation.Report, error) {
	var it reportItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return moderation.Report{}, wrap("decode report", err)
	}
	return it.report(), nil
}

// PutReport writes a new report (1 WCU per KB).
func (db *Moderation) PutReport(ctx context.Context, r moderation.Report) error {
	item, err := attributevalue.MarshalMap(reportItem{PK: reportsPK, SK: r.ReportID, ReporterID: r.ReporterID, ConversationID: r.ConversationID,
		Seq: r.Seq, SenderID: r.SenderID, Text: r.Text, Reason: r.Reason, Status: r.Status, CreatedAt: r.CreatedAt})
	if err != nil {
		return wrap("marshal report", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err != nil {
		return wrap("put report", err)
	}
	return nil
}

// GetReport reads one report.
func (db *Moderation) GetReport(ctx context.Context, id string) (*moderation.Report, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(reportsPK, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap("get report", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	r, err := decodeReport(out.Item)
	return &r, err
}

// ListReports queries newest first; a status filter reads (and pays for)
// the other reports it skips.
func (db *Moderation) ListReports(ctx context.Context, status, before string, limit int) ([]moderation.Report, bool, error) {
	in := &dynamodb.QueryInput{TableName: &db.t.Users, KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(reportsPK)}, ScanIndexForward: aws.Bool(false),
		ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(limit + 1))}
	if before != "" {
		in.KeyConditionExpression = aws.String("pk = :p AND sk < :b")
		in.ExpressionAttributeValues[":b"] = str(before)
	}
	if status != "" {
		in.FilterExpression = aws.String("#s = :s")
		in.ExpressionAttributeNames = map[string]string{"#s": "status"}
		in.ExpressionAttributeValues[":s"] = str(status)
	}
	items, err := db.queryUpTo(ctx, in, limit+1)
	if err != nil {
		return nil, false, wrap("list reports", err)
	}
	out := make([]moderation.Report, 0, len(items))
	for _, it := range items {
		r, err := decodeReport(it)
		if err != nil {
			return nil, false, err
		}
		out = append(out, r)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// ResolveReport updates an open report (1 WCU); ALL_OLD on a failed
// condition tells "resolved already" from "no such report".
func (db *Moderation) ResolveReport(ctx context.Context, id, by, resolution string, at int64) (*moderation.Report, bool, error) {
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Users, Key: key(reportsPK, id),
		UpdateExpression:         aws.String("SET #s = :r, resolved_by = :b, resolution = :res, resolved_at = :at"),
		ConditionExpression:      aws.String("#s = :o"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(moderation.ReportResolved), ":o": str(moderation.ReportOpen),
			":b": str(by), ":res": str(resolution), ":at": num(at)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) {
		old := conditionOld(err)
		if len(old) == 0 {
			return nil, false, nil
		}
		r, err := decodeReport(old)
		return &r, false, err
	}
	if err != nil {
		return nil, false, wrap("resolve report", err)
	}
	r, err := decodeReport(out.Attributes)
	return &r, true, err
}

type rolesItem struct {
	PK      string              `dynamodbav:"pk"`
	SK      string              `dynamodbav:"sk"`
	Roles   map[string][]string `dynamodbav:"roles"`
	Version int64               `dynamodbav:"version"`
}

func (db *Moderation) getRoles(ctx context.Context) (rolesItem, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(rolesPK, modSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return rolesItem{}, wrap("get roles", err)
	}
	it := rolesItem{PK: rolesPK, SK: modSK}
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
			return rolesItem{}, wrap("decode roles", err)
		}
	}
	if it.Roles == nil {
		it.Roles = map[string][]string{}
	}
	return it, nil
}

// GetRoles reads the app-defined roles (1 RCU).
func (db *Moderation) GetRoles(ctx context.Context) (map[string][]string, error) {
	it, err := db.getRoles(ctx)
	return it.Roles, err
}

// PutRole reads the roles item and writes it back on its version, so two
// concurrent changes cannot lose one (the loser retries, bounded).
func (db *Moderation) PutRole(ctx context.Context, name string, grants []string, max int) (bool, error) {
	for range 5 {
		it, err := db.getRoles(ctx)
		if err != nil {
			return false, err
		}
		if grants == nil {
			delete(it.Roles, name)
		} else {
			if _, ok := it.Roles[name]; !ok && len(it.Roles) >= max {
				return false, nil
			}
			it.Roles[name] = grants
		}
		old := it.Version
		it.Version++
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return false, wrap("marshal roles", err)
		}
		cond := "attribute_not_exists(pk) OR version = :v"
		_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: item, ConditionExpression: aws.String(cond),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(old, 10)}}})
		if IsConditionFailed(err) {
			continue
		}
		if err != nil {
			return false, wrap("put roles", err)
		}
		return true, nil
	}
	return false, apierror.New(apierror.Conflict, "The roles changed concurrently; retry.")
}
