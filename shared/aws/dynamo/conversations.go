package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// Messages table, conversation side (messages themselves: messages.go).
//
//	conversation head  pk "C#<conversation_id>"  sk "META"
//	user's entry       pk "U#<user_id>"          sk "C#<conversation_id>"
//
// The head holds the last seq and a preview of the last message; a send
// updates it (1 WCU), so a list or a sync learns what changed from heads
// alone. Entries put a conversation in a user's list and hold the user's
// read position; they are written when a DM starts or a member joins,
// never per message (read diffusion).

func convPK(id chat.ConversationID) string { return "C#" + string(id) }

const convMetaSK = "META"

func entryPK(uid string) string             { return "U#" + uid }
func entrySK(id chat.ConversationID) string { return "C#" + string(id) }
func convKey(id chat.ConversationID) map[string]types.AttributeValue {
	return key(convPK(id), convMetaSK)
}

type convMetaItem struct {
	PK          string  `dynamodbav:"pk"`
	SK          string  `dynamodbav:"sk"`
	Kind        string  `dynamodbav:"kind"`
	A           string  `dynamodbav:"a,omitempty"`
	B           string  `dynamodbav:"b,omitempty"`
	GroupID     string  `dynamodbav:"group_id,omitempty"`
	LastSeq     int64   `dynamodbav:"last_seq"`
	LastMsgID   string  `dynamodbav:"last_msg_id,omitempty"`
	LastAt      int64   `dynamodbav:"last_at"`
	LastSender  string  `dynamodbav:"last_sender,omitempty"`
	LastPreview string  `dynamodbav:"last_preview,omitempty"`
	LastKind    string  `dynamodbav:"last_kind,omitempty"` // absent: a message
	LastN       int64   `dynamodbav:"last_n,omitempty"`    // the last message's count
	Closed      bool    `dynamodbav:"closed,omitempty"`
	MutedAll    bool    `dynamodbav:"muted_all,omitempty"` // a group's head: the group-wide mute
	CreatedAt   int64   `dynamodbav:"created_at"`
	MentionAll  []int64 `dynamodbav:"mall,numberset,omitempty"` // mentions.go
}

func (it convMetaItem) meta() chat.ConvMeta {
	return chat.ConvMeta{ID: chat.ConversationID(strings.TrimPrefix(it.PK, "C#")), Kind: it.Kind, A: it.A, B: it.B, GroupID: it.GroupID,
		LastSeq: it.LastSeq, LastMsgID: it.LastMsgID, LastAt: fromMS(it.LastAt), LastSender: it.LastSender,
		LastPreview: it.LastPreview, LastKind: kindOf(it.LastKind), LastCount: it.LastN, Closed: it.Closed, MutedAll: it.MutedAll, CreatedAt: fromMS(it.CreatedAt),
		MentionAll: sortedSeqs(it.MentionAll)}
}

type entryItem struct {
	PK       string  `dynamodbav:"pk"`
	SK       string  `dynamodbav:"sk"`
	Kind     string  `dynamodbav:"kind"`
	Peer     string  `dynamodbav:"peer,omitempty"`
	GroupID  string  `dynamodbav:"group_id,omitempty"`
	ReadSeq  int64   `dynamodbav:"read_seq"`
	ReadN    int64   `dynamodbav:"read_n,omitempty"` // the count at read_seq
	JoinedAt int64   `dynamodbav:"joined_at"`
	Mentions []int64 `dynamodbav:"ment,numberset,omitempty"` // mentions.go
}

func (it entryItem) entry() chat.Entry {
	return chat.Entry{UserID: strings.TrimPrefix(it.PK, "U#"), ConversationID: chat.ConversationID(strings.TrimPrefix(it.SK, "C#")),
		Kind: it.Kind, Peer: it.Peer, GroupID: it.GroupID, ReadSeq: it.ReadSeq, ReadCount: it.ReadN, JoinedAt: fromMS(it.JoinedAt),
		Mentions: sortedSeqs(it.Mentions)}
}

func decodeMeta(m map[string]types.AttributeValue) (chat.ConvMeta, error) {
	var it convMetaItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return chat.ConvMeta{}, wrap("decode conversation", err)
	}
	meta := it.meta()
	meta.Pins = pinsOf(m)
	return meta, nil
}

func decodeEntry(m map[string]types.AttributeValue) (chat.Entry, error) {
	var it entryItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return chat.Entry{}, wrap("decode entry", err)
	}
	return it.entry(), nil
}

func pkOf(m map[string]types.AttributeValue) string {
	s, _ := m[attrPK].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// ReadConversation reads a conversation head plus, as asked, a group
// membership, a user's existence and users' entries: one strongly
// consistent BatchGetItem over up to three tables (1 RCU per item < 4 KB).
func (db *Messages) ReadConversation(ctx context.Context, q chat.ConvQuery) (chat.ConvView, error) {
	req := map[string]types.KeysAndAttributes{}
	add := func(table string, k map[string]types.AttributeValue, proj string) {
		ka := req[table]
		ka.Keys = append(ka.Keys, k)
		ka.ConsistentRead = aws.Bool(true)
		if proj != "" {
			ka.ProjectionExpression = &proj
		}
		req[table] = ka
	}
	add(db.t.Messages, convKey(q.ID), "")
	for _, u := range q.Entries {
		add(db.t.Messages, key(entryPK(u), entrySK(q.ID)), "")
	}
	if q.MemberOf != "" {
		add(db.t.Groups, memberKey(q.MemberOf, q.Member), "")
	}
	if q.UserExists != "" {
		add(db.t.Users, UserKey(q.UserExists), "pk")
	}
	view := chat.ConvView{Entries: map[string]chat.Entry{}}
	err := db.batchRead(ctx, "read conversation", req, func(table string, it map[string]types.AttributeValue) error {
		switch pk := pkOf(it); {
		case table == db.t.Users:
			view.UserExists = true
		case table == db.t.Groups:
			m, err := decodeMember(it)
			if err != nil {
				return err
			}
			view.Member = &m
		case strings.HasPrefix(pk, "U#"):
			e, err := decodeEntry(it)
			if err != nil {
				return err
			}
			view.Entries[e.UserID] = e
		default:
			m, err := decodeMeta(it)
			if err != nil {
				return err
			}
			view.Meta = &m
		}
		return nil
	})
	if err != nil {
		return chat.ConvView{}, err
	}
	return view, nil
}

// GetConvMetas reads conversation heads (consistent BatchGetItem, 100 per
// request). Missing ones are absent from the map.
func (db *Messages) GetConvMetas(ctx context.Context, ids []chat.ConversationID) (map[chat.ConversationID]chat.ConvMeta, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, convKey(id))
	}
	out := map[chat.ConversationID]chat.ConvMeta{}
	err := db.batchGet(ctx, db.t.Messages, keys, "", func(item map[string]types.AttributeValue) error {
		m, err := decodeMeta(item)
		if err != nil {
			return err
		}
		out[m.ID] = m
		return nil
	})
	return out, err
}

// GetEntries reads entries (consistent BatchGetItem).
func (db *Messages) GetEntries(ctx context.Context, keys []chat.EntryKey) (map[chat.EntryKey]chat.Entry, error) {
	ks := make([]map[string]types.AttributeValue, 0, len(keys))
	for _, k := range keys {
		ks = append(ks, key(entryPK(k.UserID), entrySK(k.ConversationID)))
	}
	out := map[chat.EntryKey]chat.Entry{}
	err := db.batchGet(ctx, db.t.Messages, ks, "", func(item map[string]types.AttributeValue) error {
		e, err := decodeEntry(item)
		if err != nil {
			return err
		}
		out[chat.EntryKey{UserID: e.UserID, ConversationID: e.ConversationID}] = e
		return nil
	})
	return out, err
}

// ListEntries returns all of a user's entries (consistent Query; an entry
// is ~120 B, so 100 conversations cost 3 RCU).
func (db *Messages) ListEntries(ctx context.Context, uid string) ([]chat.Entry, error) {
	var list []chat.Entry
	var start map[string]types.AttributeValue
	for page := 0; page < 1000; page++ {
		out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Messages, KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(entryPK(uid))}, ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return nil, wrap("list entries", err)
		}
		for _, it := range out.Items {
			e, err := decodeEntry(it)
			if err != nil {
				return nil, err
			}
			list = append(list, e)
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	return list, nil
}

// EnsureDMEntries creates both participants' entries of a DM if missing,
// never touching an existing read position: two UpdateItems, 1 WCU each,
// paid once per DM (when its first message is sent).
func (db *Messages) EnsureDMEntries(ctx context.Context, ref chat.ConvRef, now time.Time) error {
	for _, pair := range [][2]string{{ref.A, ref.B}, {ref.B, ref.A}} {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(entryPK(pair[0]), entrySK(ref.ID)),
			UpdateExpression: aws.String("SET kind = :k, peer = :p, read_seq = if_not_exists(read_seq, :z), joined_at = if_not_exists(joined_at, :now)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":k": str(chat.KindDM), ":p": str(pair[1]), ":z": num(0),
				":now": num(now.UnixMilli())}})
		if err != nil {
			return wrap("ensure dm entry", err)
		}
	}
	return nil
}

// MarkRead raises a user's read position to read; it never lowers it. It
// returns the entry as it stands; a missing entry is not_found. 1 WCU.
func (db *Messages) MarkRead(ctx context.Context, uid string, conv chat.ConversationID, read chat.ReadMark) (chat.Entry, error) {
	expr := "SET read_seq = :s REMOVE read_n"
	vals := map[string]types.AttributeValue{":s": num(read.Seq)}
	if read.Count > 0 {
		expr = "SET read_seq = :s, read_n = :n"
		vals[":n"] = num(read.Count)
	}
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(entryPK(uid), entrySK(conv)),
		UpdateExpression:                    &expr,
		ConditionExpression:                 aws.String("attribute_exists(pk) AND read_seq < :s"),
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if IsConditionFailed(err) {
		old := conditionOld(err)
		if old == nil {
			return chat.Entry{}, apierror.New(apierror.NotFound, "Conversation %q was not found.", string(conv))
		}
		return decodeEntry(old)
	}
	if err != nil {
		return chat.Entry{}, wrap("mark read", err)
	}
	e, err := decodeEntry(out.Attributes)
	if err != nil {
		return chat.Entry{}, err
	}
	return db.pruneMentions(ctx, e)
}
