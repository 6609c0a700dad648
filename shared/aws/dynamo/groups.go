package dynamo

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// Groups table: a group's head item and its members share the partition
// "G#<group_id>" (sk "META" and "M#<user_id>"), so listing members is one
// Query and checking a membership one GetItem. Each member also has an
// entry in the messages table (see conversations.go) that puts the group
// in the member's conversation list; both are written in one transaction
// with the head's member_count, which enforces the member cap.

func groupPK(gid string) string { return "G#" + gid }

const (
	groupSK      = "META"
	memberPrefix = "M#"
)

func memberKey(gid, uid string) map[string]types.AttributeValue {
	return key(groupPK(gid), memberPrefix+uid)
}

// maxTxItems is DynamoDB's limit of items per transaction.
const maxTxItems = 100

type groupItem struct {
	PK          string            `dynamodbav:"pk"`
	SK          string            `dynamodbav:"sk"`
	Name        string            `dynamodbav:"name,omitempty"`
	AvatarURL   string            `dynamodbav:"avatar_url,omitempty"`
	Metadata    map[string]string `dynamodbav:"metadata,omitempty"`
	Owner       string            `dynamodbav:"owner"`
	MemberCount int               `dynamodbav:"member_count"`
	CreatedAt   int64             `dynamodbav:"created_at"`
	UpdatedAt   int64             `dynamodbav:"updated_at"`
	Dissolved   bool              `dynamodbav:"dissolved,omitempty"`
	IdemKey     string            `dynamodbav:"idem_key,omitempty"`
	MutedAll    bool              `dynamodbav:"muted_all,omitempty"`
	Incomplete  bool              `dynamodbav:"incomplete,omitempty"`
}

func (it groupItem) group() chat.Group {
	gid := strings.TrimPrefix(it.PK, "G#")
	return chat.Group{GroupID: gid, Name: it.Name, AvatarURL: it.AvatarURL, Metadata: it.Metadata, OwnerID: it.Owner,
		MemberCount: it.MemberCount, ConversationID: chat.GroupConversationID(gid), CreatedAt: fromMS(it.CreatedAt),
		UpdatedAt: fromMS(it.UpdatedAt), Dissolved: it.Dissolved, IdempotencyKey: it.IdemKey, MutedAll: it.MutedAll,
		Incomplete: it.Incomplete}
}

type memberItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Role     string `dynamodbav:"role"`
	Muted    bool   `dynamodbav:"muted,omitempty"`
	JoinedAt int64  `dynamodbav:"joined_at"`
}

func (it memberItem) member() chat.Member {
	return chat.Member{GroupID: strings.TrimPrefix(it.PK, "G#"), UserID: strings.TrimPrefix(it.SK, memberPrefix),
		Role: chat.Role(it.Role), Muted: it.Muted, JoinedAt: fromMS(it.JoinedAt)}
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func decodeGroup(m map[string]types.AttributeValue) (chat.Group, error) {
	var it groupItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return chat.Group{}, wrap("decode group", err)
	}
	return it.group(), nil
}

func decodeMember(m map[string]types.AttributeValue) (chat.Member, error) {
	var it memberItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return chat.Member{}, wrap("decode member", err)
	}
	return it.member(), nil
}

// memberWrites are the two puts that make uid a member: the member item
// (unless it exists) and the user's conversation entry.
func (db *base) memberWrites(gid string, m chat.Member, read chat.ReadMark) ([]types.TransactWriteItem, error) {
	mi, err := attributevalue.MarshalMap(memberItem{PK: groupPK(gid), SK: memberPrefix + m.UserID, Role: string(m.Role),
		Muted: m.Muted, JoinedAt: m.JoinedAt.UnixMilli()})
	if err != nil {
		return nil, wrap("marshal member", err)
	}
	ei, err := attributevalue.MarshalMap(entryItem{PK: entryPK(m.UserID), SK: entrySK(chat.GroupConversationID(gid)),
		Kind: chat.KindGroup, GroupID: gid, ReadSeq: read.Seq, ReadN: read.Count, JoinedAt: m.JoinedAt.UnixMilli()})
	if err != nil {
		return nil, wrap("marshal entry", err)
	}
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &db.t.Groups, Item: mi, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &types.Put{TableName: &db.t.Messages, Item: ei}},
	}, nil
}

// CreateGroup writes the group's head, its conversation head and its
// members. The head and the first members (up to 48, the owner first) go in
// one transaction, so a group never exists without its owner; further
// members follow in transactions of 49 through AddMembers, and the head is
// marked incomplete until the last of them lands (one more write, only for
// groups created with more than 48 members). An existing group id gives
// group_exists and the existing group.
func (db *Groups) CreateGroup(ctx context.Context, g chat.Group, members []chat.Member) (*chat.Group, error) {
	gi, err := attributevalue.MarshalMap(groupItem{PK: groupPK(g.GroupID), SK: groupSK, Name: g.Name, AvatarURL: g.AvatarURL,
		Metadata: g.Metadata, Owner: g.OwnerID, CreatedAt: g.CreatedAt.UnixMilli(), UpdatedAt: g.UpdatedAt.UnixMilli(),
		IdemKey: g.IdempotencyKey})
	if err != nil {
		return nil, wrap("marshal group", err)
	}
	first := members
	if n := (maxTxItems - 2) / 2; len(first) > n {
		first = members[:n]
	}
	gi["member_count"] = num(int64(len(first)))
	rest := members[len(first):]
	if len(rest) > 0 {
		gi["incomplete"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	ci, err := attributevalue.MarshalMap(convMetaItem{PK: convPK(g.ConversationID), SK: convMetaSK, Kind: chat.KindGroup,
		GroupID: g.GroupID, CreatedAt: g.CreatedAt.UnixMilli(), LastAt: g.CreatedAt.UnixMilli()})
	if err != nil {
		return nil, wrap("marshal conversation", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &db.t.Groups, Item: gi, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		// A dissolved group keeps its tombstone, so this head never exists
		// without the group head; the condition is belt and braces.
		{Put: &types.Put{TableName: &db.t.Messages, Item: ci, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}
	for _, m := range first {
		w, err := db.memberWrites(g.GroupID, m, chat.ReadMark{})
		if err != nil {
			return nil, err
		}
		items = append(items, w...)
	}
	_, err = db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reasons := cancelReasons(err); reasons != nil {
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			if reasons[0].Item != nil {
				old, derr := decodeGroup(reasons[0].Item)
				if derr == nil {
					return &old, apierror.New(apierror.GroupExists, "Group %q already exists.", g.GroupID)
				}
			}
			return nil, apierror.New(apierror.GroupExists, "Group %q already exists.", g.GroupID)
		}
		return nil, wrap("create group", err)
	}
	if err != nil {
		return nil, wrap("create group", err)
	}
	if len(rest) > 0 {
		if err := db.AddMembers(ctx, g.GroupID, rest, 0, chat.ReadMark{}); err != nil {
			return nil, err
		}
		return nil, db.FinishGroupCreate(ctx, g.GroupID)
	}
	return nil, nil
}

// FinishGroupCreate removes the head's incomplete mark; 1 WCU.
func (db *Groups) FinishGroupCreate(ctx context.Context, gid string) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK),
		UpdateExpression: aws.String("REMOVE incomplete"), ConditionExpression: aws.String("attribute_exists(pk)")})
	if IsConditionFailed(err) {
		return apierror.New(apierror.NotFound, "Group %q not found.", gid)
	}
	if err != nil {
		return wrap("finish group create", err)
	}
	return nil
}

// cancelReasons returns the per-item reasons of a cancelled transaction
// (nil if err is not a cancellation).
func cancelReasons(err error) []types.CancellationReason {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		if tce.CancellationReasons == nil {
			return []types.CancellationReason{}
		}
		return tce.CancellationReasons
	}
	return nil
}

// AddMembers adds members in transactions of up to 49, each raising the
// head's member_count under the condition that it stays within max (0: no
// cap check, used by CreateGroup whose caller checked it) and the group is
// not dissolved. read starts each new member's read position. A member
// that appeared concurrently cancels its chunk with chat.ErrConflict (the
// caller re-reads and retries); a full group gives member_limit.
func (db *Groups) AddMembers(ctx context.Context, gid string, members []chat.Member, max int, read chat.ReadMark) error {
	per := (maxTxItems - 1) / 2
	for start := 0; start < len(members); start += per {
		chunk := members[start:min(start+per, len(members))]
		cond := "attribute_exists(pk) AND attribute_not_exists(dissolved)"
		vals := map[string]types.AttributeValue{":n": num(int64(len(chunk)))}
		if max > 0 {
			cond += " AND member_count <= :room"
			vals[":room"] = num(int64(max - len(chunk)))
		}
		items := []types.TransactWriteItem{{Update: &types.Update{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK),
			UpdateExpression: aws.String("ADD member_count :n"), ConditionExpression: &cond, ExpressionAttributeValues: vals}}}
		for _, m := range chunk {
			w, err := db.memberWrites(gid, m, read)
			if err != nil {
				return err
			}
			items = append(items, w...)
		}
		_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if reasons := cancelReasons(err); reasons != nil {
			if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
				if max > 0 {
					return apierror.New(apierror.MemberLimit, "The group would exceed its cap of %d members.", max)
				}
				return chat.ErrConflict
			}
			for _, r := range reasons {
				if aws.ToString(r.Code) == "ConditionalCheckFailed" {
					return chat.ErrConflict
				}
			}
			return wrap("add members", err)
		}
		if err != nil {
			return wrap("add members", err)
		}
	}
	return nil
}

// GetGroup reads a group head (consistent). A missing group is nil.
func (db *Groups) GetGroup(ctx context.Context, gid string) (*chat.Group, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap("get group", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	g, err := decodeGroup(out.Item)
	return &g, err
}

// GetMembers reads the memberships of uids in gid (consistent; BatchGetItem
// of up to 100 keys per request). Non-members are absent from the map.
func (db *Groups) GetMembers(ctx context.Context, gid string, uids []string) (map[string]chat.Member, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(uids))
	seen := map[string]bool{}
	for _, u := range uids {
		if !seen[u] {
			seen[u] = true
			keys = append(keys, memberKey(gid, u))
		}
	}
	out := map[string]chat.Member{}
	err := db.batchGet(ctx, db.t.Groups, keys, "", func(item map[string]types.AttributeValue) error {
		m, err := decodeMember(item)
		if err != nil {
			return err
		}
		out[m.UserID] = m
		return nil
	})
	return out, err
}

// batchGet reads keys of one table, 100 per request, strongly consistent,
// retrying unprocessed keys (bounded). proj, if set, is a projection.
func (db *base) batchGet(ctx context.Context, table string, keys []map[string]types.AttributeValue, proj string, each func(map[string]types.AttributeValue) error) error {
	for start := 0; start < len(keys); start += 100 {
		ka := types.KeysAndAttributes{Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(true)}
		if proj != "" {
			ka.ProjectionExpression = &proj
		}
		err := db.batchRead(ctx, "batch get", map[string]types.KeysAndAttributes{table: ka}, func(_ string, item map[string]types.AttributeValue) error {
			return each(item)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// MissingUsers returns the ids in ids that are not users (consistent).
func (db *Groups) MissingUsers(ctx context.Context, ids []string) ([]string, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, UserKey(id))
		}
	}
	found := map[string]bool{}
	err := db.batchGet(ctx, db.t.Users, keys, "sk", func(item map[string]types.AttributeValue) error {
		if s, ok := item["sk"].(*types.AttributeValueMemberS); ok {
			found[s.Value] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
			found[id] = true // report each once
		}
	}
	return missing, nil
}

// RemoveMember deletes uid's membership and conversation entry and lowers
// the member count, in one transaction. The delete is conditioned on the
// role the caller checked, so a concurrent promotion cannot be bypassed
// (chat.ErrConflict); a non-member is not_found.
func (db *Groups) RemoveMember(ctx context.Context, gid, uid string, role chat.Role) error {
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &db.t.Groups, Key: memberKey(gid, uid), ConditionExpression: aws.String("#r = :r"),
			ExpressionAttributeNames: map[string]string{"#r": "role"}, ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(string(role))}}},
		{Delete: &types.Delete{TableName: &db.t.Messages, Key: key(entryPK(uid), entrySK(chat.GroupConversationID(gid)))}},
		{Update: &types.Update{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK), UpdateExpression: aws.String("ADD member_count :m"),
			ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: map[string]types.AttributeValue{":m": num(-1)}}},
	}})
	if cancelReasons(err) != nil {
		return chat.ErrConflict
	}
	if err != nil {
		return wrap("remove member", err)
	}
	return nil
}

// UpdateMember sets role and/or muted on a member whose role is still
// expect (chat.ErrConflict otherwise). 1 WCU.
func (db *Groups) UpdateMember(ctx context.Context, gid, uid string, expect chat.Role, role *chat.Role, muted *bool) (chat.Member, error) {
	var set []string
	vals := map[string]types.AttributeValue{":e": str(string(expect))}
	if role != nil {
		set = append(set, "#r = :r")
		vals[":r"] = str(string(*role))
	}
	if muted != nil {
		set = append(set, "muted = :m")
		vals[":m"] = &types.AttributeValueMemberBOOL{Value: *muted}
	}
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Groups, Key: memberKey(gid, uid),
		UpdateExpression: aws.String("SET " + strings.Join(set, ", ")), ConditionExpression: aws.String("#r = :e"),
		ExpressionAttributeNames: map[string]string{"#r": "role"}, ExpressionAttributeValues: vals, ReturnValues: types.ReturnValueAllNew})
	if IsConditionFailed(err) {
		return chat.Member{}, chat.ErrConflict
	}
	if err != nil {
		return chat.Member{}, wrap("update member", err)
	}
	return decodeMember(out.Attributes)
}

// TransferOwner makes to the owner and from an admin, in one transaction
// conditioned on from still owning the group and to being a member: a
// group never has zero or two owners.
func (db *Groups) TransferOwner(ctx context.Context, gid, from, to string, now time.Time) error {
	names := map[string]string{"#r": "role"}
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK), UpdateExpression: aws.String("SET #o = :to, updated_at = :now"),
			ConditionExpression: aws.String("#o = :from AND attribute_not_exists(dissolved)"), ExpressionAttributeNames: map[string]string{"#o": "owner"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":to": str(to), ":from": str(from), ":now": num(now.UnixMilli())}}},
		{Update: &types.Update{TableName: &db.t.Groups, Key: memberKey(gid, to), UpdateExpression: aws.String("SET #r = :owner, muted = :f"),
			ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(string(chat.RoleOwner)), ":f": &types.AttributeValueMemberBOOL{Value: false}}}},
		{Update: &types.Update{TableName: &db.t.Groups, Key: memberKey(gid, from), UpdateExpression: aws.String("SET #r = :admin"),
			ConditionExpression: aws.String("#r = :owner"), ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{":admin": str(string(chat.RoleAdmin)), ":owner": str(string(chat.RoleOwner))}}},
	}})
	if cancelReasons(err) != nil {
		return chat.ErrConflict
	}
	if err != nil {
		return wrap("transfer owner", err)
	}
	return nil
}

// UpdateGroup applies a patch to a live group; 1 WCU. nil fields stay.
func (db *Groups) UpdateGroup(ctx context.Context, gid string, p chat.GroupPatch, now time.Time) (chat.Group, error) {
	upd := newProfileUpdate(now)
	upd.str("name", p.Name)
	upd.str("avatar_url", p.AvatarURL)
	if err := upd.metadata(p.Metadata); err != nil {
		return chat.Group{}, err
	}
	if p.MutedAll != nil {
		return db.updateGroupMute(ctx, gid, upd, *p.MutedAll)
	}
	in := &dynamodb.UpdateItemInput{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK), UpdateExpression: upd.expression(),
		ConditionExpression:      aws.String("attribute_exists(pk) AND attribute_not_exists(dissolved)"),
		ExpressionAttributeNames: upd.names, ExpressionAttributeValues: upd.vals, ReturnValues: types.ReturnValueAllNew}
	out, err := db.client.UpdateItem(ctx, in)
	if IsConditionFailed(err) {
		return chat.Group{}, apierror.New(apierror.NotFound, "Group %q was not found.", gid)
	}
	if err != nil {
		return chat.Group{}, wrap("update group", err)
	}
	return decodeGroup(out.Attributes)
}

// updateGroupMute applies a patch that sets the group-wide mute: the
// group item and its conversation's head (which the send path reads)
// change in one transaction (4 WCU), then the group is read back (a
// transaction returns no item): no send sees one without the other.
func (db *Groups) updateGroupMute(ctx context.Context, gid string, upd *profileUpdate, muted bool) (chat.Group, error) {
	upd.set = append(upd.set, "muted_all = :muted_all")
	upd.vals[":muted_all"] = &types.AttributeValueMemberBOOL{Value: muted}
	names := upd.names
	if len(names) == 0 {
		names = nil // DynamoDB refuses an empty map
	}
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK), UpdateExpression: upd.expression(),
			ConditionExpression:      aws.String("attribute_exists(pk) AND attribute_not_exists(dissolved)"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: upd.vals}},
		{Update: &types.Update{TableName: &db.t.Messages, Key: key(convPK(chat.GroupConversationID(gid)), convMetaSK), UpdateExpression: aws.String("SET muted_all = :m"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":m": &types.AttributeValueMemberBOOL{Value: muted}}}},
	}})
	if cancelReasons(err) != nil {
		return chat.Group{}, apierror.New(apierror.NotFound, "Group %q was not found.", gid)
	}
	if err != nil {
		return chat.Group{}, wrap("update group mute", err)
	}
	g, err := db.GetGroup(ctx, gid)
	if err != nil {
		return chat.Group{}, err
	}
	if g == nil {
		return chat.Group{}, apierror.New(apierror.NotFound, "Group %q was not found.", gid)
	}
	return *g, nil
}

// DissolveGroup marks the group head dissolved (a tombstone: the id is
// never reused) and closes its conversation, in one transaction (4 WCU),
// so no send or read can see a half-dissolved group. It reports whether
// this call dissolved it (false: it already was).
func (db *Groups) DissolveGroup(ctx context.Context, gid string, now time.Time) (bool, error) {
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &db.t.Groups, Key: key(groupPK(gid), groupSK), UpdateExpression: aws.String("SET dissolved = :t, updated_at = :now"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(dissolved)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":now": num(now.UnixMilli())}}},
		{Update: &types.Update{TableName: &db.t.Messages, Key: key(convPK(chat.GroupConversationID(gid)), convMetaSK), UpdateExpression: aws.String("SET closed = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}}},
	}})
	if cancelReasons(err) != nil {
		return false, nil
	}
	if err != nil {
		return false, wrap("dissolve group", err)
	}
	return true, nil
}

// PurgeMembers deletes a dissolved group's member items and the members'
// conversation entries (BatchWriteItem, 25 per request, 1 WCU each). It is
// clean-up only: a dissolved group is already invisible through its head.
func (db *Groups) PurgeMembers(ctx context.Context, gid string) ([]string, error) {
	var start map[string]types.AttributeValue
	var ids []string
	for page := 0; page < 10000; page++ {
		out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Groups, KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :m)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(groupPK(gid)), ":m": str(memberPrefix)},
			ProjectionExpression:      aws.String("pk, sk"), ExclusiveStartKey: start, Limit: aws.Int32(12)})
		if err != nil {
			return ids, wrap("purge members", err)
		}
		var reqs []writeReq
		for _, it := range out.Items {
			uid := strings.TrimPrefix(it["sk"].(*types.AttributeValueMemberS).Value, memberPrefix)
			ids = append(ids, uid)
			reqs = append(reqs, writeReq{db.t.Groups, memberKey(gid, uid)}, writeReq{db.t.Messages, key(entryPK(uid), entrySK(chat.GroupConversationID(gid)))})
		}
		if err := db.batchDelete(ctx, reqs); err != nil {
			return ids, err
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return ids, nil
		}
	}
	return ids, nil
}

type writeReq struct {
	table string
	key   map[string]types.AttributeValue
}

func (db *base) batchDelete(ctx context.Context, reqs []writeReq) error {
	if len(reqs) == 0 {
		return nil
	}
	items := map[string][]types.WriteRequest{}
	for _, r := range reqs {
		items[r.table] = append(items[r.table], types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: r.key}})
	}
	return db.batchWrite(ctx, "batch delete", items)
}

// ListMembers pages through a group's members in user id order
// (eventually consistent Query: 0.5 RCU per 4 KB).
func (db *Groups) ListMembers(ctx context.Context, gid string, limit int, page []byte) ([]chat.Member, []byte, error) {
	_, start, err := decodePage(page)
	if err != nil {
		return nil, nil, err
	}
	out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Groups, KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(groupPK(gid)), ":m": str(memberPrefix)},
		ExclusiveStartKey:         start, Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, nil, wrap("list members", err)
	}
	list := make([]chat.Member, 0, len(out.Items))
	for _, it := range out.Items {
		m, err := decodeMember(it)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, m)
	}
	if len(out.LastEvaluatedKey) == 0 {
		return list, nil, nil
	}
	next, err := encodePage(0, out.LastEvaluatedKey)
	return list, next, err
}
