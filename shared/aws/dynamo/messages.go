package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// Messages table, message side: a conversation's messages and its
// client_msg_id claims live in the conversation's partition.
//
//	message  pk "C#<conversation_id>"  sk "MSG#<seq, 12 digits>"
//	claim    pk "C#<conversation_id>"  sk "CMID#<sender>#<client_msg_id>"
//	         or "CMID#~recall#<seq>", "CMID#~edit#<seq>#..." (event messages)
//	thread   pk "C#<conversation_id>"  sk "THR#<root seq, 12>#<reply seq, 12>"
//	         (threads.go: a thread's index, which its root's summary counts)
//
// Recall and edit event messages are message items with kind and ref; a
// plain message stores no kind, so messages written before kinds existed
// read as messages.
// A message is written with attribute_not_exists, so a seq is taken once;
// the send algorithm (docs/data-model.md, chat.Service.Send) keeps the
// seqs gapless.

const (
	msgPrefix   = "MSG#"
	claimPrefix = "CMID#"
)

func msgSK(seq int64) string { return fmt.Sprintf("%s%012d", msgPrefix, seq) }

type msgItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id"`
	Seq        int64  `dynamodbav:"seq"`
	Kind       string `dynamodbav:"kind,omitempty"` // absent: chat.KindMessage
	Ref        int64  `dynamodbav:"ref,omitempty"`
	CMID       string `dynamodbav:"cmid,omitempty"`
	SenderType string `dynamodbav:"st"`
	Sender     string `dynamodbav:"sender,omitempty"`
	Text       string `dynamodbav:"text,omitempty"`
	PType      string `dynamodbav:"ptype,omitempty"`
	PData      string `dynamodbav:"pdata,omitempty"`
	CreatedAt  int64  `dynamodbav:"created_at"`
	EditedAt   int64  `dynamodbav:"edited_at,omitempty"`
	RecalledAt int64  `dynamodbav:"recalled_at,omitempty"`
	RecalledBy string `dynamodbav:"recalled_by,omitempty"`
	EditSeq    int64  `dynamodbav:"edit_seq,omitempty"`
	RecallSeq  int64  `dynamodbav:"recall_seq,omitempty"`
	N          int64  `dynamodbav:"n,omitempty"` // chat.Message.Count
	FP         string `dynamodbav:"fp,omitempty"`
	ReplyTo    int64  `dynamodbav:"rto,omitempty"`
	ThreadRoot int64  `dynamodbav:"troot,omitempty"`
	// A thread root's summary (threads.go, RecordThreadReply).
	ThreadN    int64    `dynamodbav:"thread_n,omitempty"`
	ThreadLast int64    `dynamodbav:"thread_last,omitempty"`
	ThreadAt   int64    `dynamodbav:"thread_at,omitempty"`
	Mentions   []string `dynamodbav:"mn,omitempty"`
	// Attachments as sent (removed by a recall, like the text).
	Att []attItem `dynamodbav:"att,omitempty"`
}

// attItem is a stored chat.Attachment, with short attribute names.
type attItem struct {
	UploadID    string  `dynamodbav:"u"`
	Name        string  `dynamodbav:"n"`
	ContentType string  `dynamodbav:"t"`
	Size        int64   `dynamodbav:"s"`
	Width       int     `dynamodbav:"w,omitempty"`
	Height      int     `dynamodbav:"h,omitempty"`
	Duration    float64 `dynamodbav:"d,omitempty"`
}

func toAttItems(as []chat.Attachment) []attItem {
	var out []attItem
	for _, a := range as {
		out = append(out, attItem(a))
	}
	return out
}

func fromAttItems(is []attItem) []chat.Attachment {
	var out []chat.Attachment
	for _, a := range is {
		out = append(out, chat.Attachment(a))
	}
	return out
}

// kindOf reads a stored kind: absent means a message.
func kindOf(k string) string {
	if k == "" {
		return chat.KindMessage
	}
	return k
}

func toMsgItem(m chat.Message) msgItem {
	it := msgItem{PK: convPK(m.ConversationID), SK: msgSK(m.Seq), ID: m.MessageID, Seq: m.Seq, CMID: m.ClientMsgID,
		SenderType: m.SenderType, Sender: m.SenderID, Text: m.Text, CreatedAt: m.CreatedAt.UnixMilli(), FP: m.Fingerprint, Ref: m.RefSeq, N: m.Count,
		ReplyTo: m.ReplyTo, ThreadRoot: m.ThreadRoot, Mentions: m.Mentions, Att: toAttItems(m.Attachments)}
	if m.Kind != chat.KindMessage {
		it.Kind = m.Kind
	}
	if m.Payload != nil {
		it.PType, it.PData = m.Payload.Type, string(m.Payload.Data)
	}
	return it
}

func (it msgItem) message() chat.Message {
	m := chat.Message{ConversationID: chat.ConversationID(strings.TrimPrefix(it.PK, "C#")), Seq: it.Seq, MessageID: it.ID,
		ClientMsgID: it.CMID, SenderType: it.SenderType, SenderID: it.Sender, Text: it.Text, CreatedAt: fromMS(it.CreatedAt),
		RecalledBy: it.RecalledBy, Fingerprint: it.FP, Kind: kindOf(it.Kind), RefSeq: it.Ref, EditSeq: it.EditSeq, RecallSeq: it.RecallSeq, Count: it.N,
		ReplyTo: it.ReplyTo, ThreadRoot: it.ThreadRoot, Mentions: it.Mentions, Attachments: fromAttItems(it.Att)}
	if it.ThreadN > 0 {
		m.Thread = &chat.Thread{ReplyCount: it.ThreadN, LastReplySeq: it.ThreadLast, LastReplyAt: fromMS(it.ThreadAt)}
	}
	if it.PType != "" {
		m.Payload = &chat.Payload{Type: it.PType}
		if it.PData != "" {
			m.Payload.Data = json.RawMessage(it.PData)
		}
	}
	if it.EditedAt != 0 {
		t := fromMS(it.EditedAt)
		m.EditedAt = &t
	}
	if it.RecalledAt != 0 {
		t := fromMS(it.RecalledAt)
		m.Recalled, m.RecalledAt = true, &t
	}
	return m
}

func decodeMessage(m map[string]types.AttributeValue) (chat.Message, error) {
	var it msgItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return chat.Message{}, wrap("decode message", err)
	}
	msg := it.message()
	reactionsOf(m, &msg)
	return msg, nil
}

type claimItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Seq       int64  `dynamodbav:"seq"`
	MsgID     string `dynamodbav:"msg_id"`
	CreatedAt int64  `dynamodbav:"created_at"`
	FP        string `dynamodbav:"fp"`
}

func decodeClaim(m map[string]types.AttributeValue) (*chat.Claim, error) {
	var it claimItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return nil, wrap("decode claim", err)
	}
	return &chat.Claim{ConversationID: chat.ConversationID(strings.TrimPrefix(it.PK, "C#")), Key: strings.TrimPrefix(it.SK, claimPrefix),
		Seq: it.Seq, MessageID: it.MsgID, CreatedAt: fromMS(it.CreatedAt), Fingerprint: it.FP}, nil
}

// ClaimClientMsgID writes the claim unless one exists for the key; it then
// returns the existing claim (free, via ReturnValuesOnConditionCheckFailure).
// The claim is ~150 B: 1 WCU. Claims never expire, so a retry after any
// delay finds its message.
func (db *Messages) ClaimClientMsgID(ctx context.Context, c chat.Claim) (*chat.Claim, error) {
	item, err := attributevalue.MarshalMap(claimItem{PK: convPK(c.ConversationID), SK: claimPrefix + c.Key, Seq: c.Seq, MsgID: c.MessageID,
		CreatedAt: c.CreatedAt.UnixMilli(), FP: c.Fingerprint})
	if err != nil {
		return nil, wrap("marshal claim", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Messages, Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	// No ownWrite here: a claim whose answer was lost reads back as an
	// existing claim, and the send then takes it over (chat.Service.put),
	// which stores the message if nobody has; PutMessage's write token
	// decides which of several such sends created it.
	if IsConditionFailed(err) {
		if old := conditionOld(err); old != nil {
			return decodeClaim(old)
		}
		return nil, wrap("claim", fmt.Errorf("condition failed without the old item"))
	}
	if err != nil {
		return nil, wrap("claim", err)
	}
	return nil, nil
}

// MoveClaim moves a claim from seq from to c.Seq, if it still says from
// and c.MessageID; otherwise it returns the claim as it now stands.
func (db *Messages) MoveClaim(ctx context.Context, c chat.Claim, from int64) (*chat.Claim, error) {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(convPK(c.ConversationID), claimPrefix+c.Key),
		UpdateExpression:                    aws.String("SET seq = :to"),
		ConditionExpression:                 aws.String("seq = :from AND msg_id = :id"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":to": num(c.Seq), ":from": num(from), ":id": str(c.MessageID)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) {
		if old := conditionOld(err); old != nil {
			return decodeClaim(old)
		}
		return nil, wrap("move claim", fmt.Errorf("claim vanished"))
	}
	if err != nil {
		return nil, wrap("move claim", err)
	}
	return nil, nil
}

// PutMessage stores m at its seq unless the seq is taken; it then returns
// the message holding it (free, via ReturnValuesOnConditionCheckFailure).
func (db *Messages) PutMessage(ctx context.Context, m chat.Message) (*chat.Message, error) {
	item, err := attributevalue.MarshalMap(toMsgItem(m))
	if err != nil {
		return nil, wrap("marshal message", err)
	}
	withWriteToken(item)
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Messages, Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) && ownWrite(err, item) {
		return nil, nil // an applied attempt, retried by the SDK
	}
	if IsConditionFailed(err) {
		old := conditionOld(err)
		if old == nil {
			return nil, wrap("put message", fmt.Errorf("condition failed without the old item"))
		}
		o, err := decodeMessage(old)
		return &o, err
	}
	if err != nil {
		return nil, wrap("put message", err)
	}
	return nil, nil
}

// LatestSeq returns the highest stored seq and its message's count (0, 0
// if none): one consistent Query of one item, newest first.
func (db *Messages) LatestSeq(ctx context.Context, conv chat.ConversationID) (int64, int64, error) {
	out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Messages,
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(convPK(conv)), ":m": str(msgPrefix)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("seq, n")})
	if err != nil {
		return 0, 0, wrap("latest seq", err)
	}
	if len(out.Items) == 0 {
		return 0, 0, nil
	}
	var it struct {
		Seq int64 `dynamodbav:"seq"`
		N   int64 `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil || it.Seq == 0 {
		return 0, 0, wrap("latest seq", fmt.Errorf("message without seq: %v", err))
	}
	return it.Seq, it.N, nil
}

// MessageCount returns the count of the message at seq (0 if absent or
// unknown): a consistent GetItem of one attribute.
func (db *Messages) MessageCount(ctx context.Context, conv chat.ConversationID, seq int64) (int64, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Messages, Key: key(convPK(conv), msgSK(seq)),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("n")})
	if err != nil {
		return 0, wrap("message count", err)
	}
	var it struct {
		N int64 `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return 0, wrap("message count", err)
	}
	return it.N, nil
}

// GetMessage reads one message (consistent); nil if absent.
func (db *Messages) GetMessage(ctx context.Context, conv chat.ConversationID, seq int64) (*chat.Message, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Messages, Key: key(convPK(conv), msgSK(seq)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap("get message", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	m, err := decodeMessage(out.Item)
	return &m, err
}

// AdvanceConversation records m as the conversation's last message unless a
// later one is recorded already (1 WCU). For a DM's first message it also
// creates the head.
func (db *Messages) AdvanceConversation(ctx context.Context, ref chat.ConvRef, m chat.Message, preview string) error {
	set := "SET last_seq = :s, last_msg_id = :id, last_at = :at, last_sender = :snd, kind = :k, created_at = if_not_exists(created_at, :at)"
	vals := map[string]types.AttributeValue{":s": num(m.Seq), ":id": str(m.MessageID), ":at": num(m.CreatedAt.UnixMilli()),
		":snd": str(m.SenderID), ":k": str(ref.Kind)}
	var remove []string
	if preview != "" {
		set += ", last_preview = :pv"
		vals[":pv"] = str(preview)
	} else {
		remove = append(remove, "last_preview")
	}
	if m.Kind != "" && m.Kind != chat.KindMessage {
		set += ", last_kind = :lk"
		vals[":lk"] = str(m.Kind)
	} else {
		remove = append(remove, "last_kind")
	}
	if m.Count > 0 {
		set += ", last_n = :n"
		vals[":n"] = num(m.Count)
	} else {
		remove = append(remove, "last_n")
	}
	if ref.Kind == chat.KindDM {
		set += ", a = :a, b = :b"
		vals[":a"], vals[":b"] = str(ref.A), str(ref.B)
	} else {
		set += ", group_id = :g"
		vals[":g"] = str(ref.GroupID)
	}
	if m.SenderID == "" {
		remove = append(remove, "last_sender")
		set = strings.Replace(set, ", last_sender = :snd", "", 1)
		delete(vals, ":snd")
	}
	expr := set
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: convKey(ref.ID),
		UpdateExpression: &expr, ConditionExpression: aws.String("attribute_not_exists(last_seq) OR last_seq < :s"),
		ExpressionAttributeValues: vals})
	if IsConditionFailed(err) {
		return nil // a later message is already recorded
	}
	if err != nil {
		return wrap("advance conversation", err)
	}
	return nil
}

// History returns messages with lo <= seq <= hi, ascending or descending,
// at most limit (consistent Query: 1 RCU per 4 KB read).
func (db *Messages) History(ctx context.Context, conv chat.ConversationID, lo, hi int64, ascending bool, limit int) ([]chat.Message, error) {
	var list []chat.Message
	var start map[string]types.AttributeValue
	for len(list) < limit {
		out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Messages,
			KeyConditionExpression:    aws.String("pk = :p AND sk BETWEEN :lo AND :hi"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(convPK(conv)), ":lo": str(msgSK(lo)), ":hi": str(msgSK(hi))},
			ScanIndexForward:          aws.Bool(ascending), Limit: aws.Int32(int32(limit - len(list))), ConsistentRead: aws.Bool(true),
			ExclusiveStartKey: start})
		if err != nil {
			return nil, wrap("history", err)
		}
		for _, it := range out.Items {
			m, err := decodeMessage(it)
			if err != nil {
				return nil, err
			}
			list = append(list, m)
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	return list, nil
}

// ChangeMessage recalls or edits a message under ch's conditions, recording
// the change's event seq (recall_seq, edit_seq). On success it returns the
// message as changed; if a condition fails it returns the message as it
// stands (nil if there is none) and chat.ErrConflict. 1 WCU per KB of the
// larger image.
func (db *Messages) ChangeMessage(ctx context.Context, ch chat.MessageChange) (chat.Message, *chat.Message, error) {
	// A plain message has no kind attribute: event messages never change.
	cond := []string{"attribute_exists(pk)", "attribute_not_exists(recalled_at)", "attribute_not_exists(kind)"}
	vals := map[string]types.AttributeValue{":at": num(ch.At.UnixMilli()), ":e": num(ch.EventSeq)}
	var expr string
	if ch.Recall {
		expr = "SET recalled_at = :at, recall_seq = :e REMOVE #t, ptype, pdata, edited_at, edit_seq, mn, att"
		if ch.By != "" {
			expr = "SET recalled_at = :at, recall_seq = :e, recalled_by = :by REMOVE #t, ptype, pdata, edited_at, edit_seq, mn, att"
			vals[":by"] = str(ch.By)
		}
	} else {
		// Concurrent edits converge on the one with the highest event seq,
		// the order in which clients apply the events.
		expr = "SET #t = :text, edited_at = :at, edit_seq = :e"
		cond = append(cond, "(attribute_not_exists(edit_seq) OR edit_seq < :e)")
		vals[":text"] = str(ch.Text)
	}
	if ch.RequireSender != "" {
		cond = append(cond, "sender = :snd")
		vals[":snd"] = str(ch.RequireSender)
	}
	if !ch.NotBefore.IsZero() {
		cond = append(cond, "created_at >= :nb")
		vals[":nb"] = num(ch.NotBefore.UnixMilli())
	}
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(convPK(ch.ConversationID), msgSK(ch.Seq)),
		UpdateExpression: &expr, ConditionExpression: aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames: map[string]string{"#t": "text"}, ExpressionAttributeValues: vals,
		ReturnValues: types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) {
		return messageConflict(err)
	}
	if err != nil {
		return chat.Message{}, nil, wrap("change message", err)
	}
	m, err := decodeMessage(out.Attributes)
	return m, nil, err
}

// ListClaims returns a conversation's claims whose key starts with prefix
// (consistent Query; a claim is ~150 B, so 25 claims per RCU).
func (db *Messages) ListClaims(ctx context.Context, conv chat.ConversationID, prefix string) ([]chat.Claim, error) {
	var list []chat.Claim
	var start map[string]types.AttributeValue
	for page := 0; page < 1000; page++ {
		out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Messages,
			KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :c)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(convPK(conv)), ":c": str(claimPrefix + prefix)},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return nil, wrap("list claims", err)
		}
		for _, it := range out.Items {
			c, err := decodeClaim(it)
			if err != nil {
				return nil, err
			}
			list = append(list, *c)
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	return list, nil
}

// EraseMessage erases the content of the message at seq if it is the
// message id (an edit event of a recalled message), marking it recalled.
// A missing or other message is left alone. 1 WCU.
func (db *Messages) EraseMessage(ctx context.Context, conv chat.ConversationID, seq int64, id string, at time.Time) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(convPK(conv), msgSK(seq)),
		UpdateExpression:          aws.String("SET recalled_at = if_not_exists(recalled_at, :at) REMOVE #t, ptype, pdata"),
		ConditionExpression:       aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#t": "text", "#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": num(at.UnixMilli()), ":id": str(id)}})
	if err != nil && !IsConditionFailed(err) {
		return wrap("erase message", err)
	}
	return nil
}

// ImportMessages writes messages of a conversation nobody is writing to,
// with the seqs the caller gives them (BatchWriteItem, 25 per request,
// 1 WCU per KB each), then records the last as the head, creating a DM's
// entries if needed. It is for bulk loads (history import, test set-up),
// not for live sends: it takes no claims and checks no collisions, so the
// caller must give the seqs following the conversation's last one. It sets
// the messages' counts (chat.Message.Count) from the head's.
func (db *Messages) ImportMessages(ctx context.Context, ref chat.ConvRef, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	v, err := db.ReadConversation(ctx, chat.ConvQuery{ID: ref.ID})
	if err != nil {
		return err
	}
	var head chat.ConvMeta
	if v.Meta != nil {
		head = *v.Meta
	}
	msgs = append([]chat.Message(nil), msgs...)
	prevSeq, prevCount := head.LastSeq, head.LastCount
	for i := range msgs {
		if msgs[i].Kind == "" {
			msgs[i].Kind = chat.KindMessage
		}
		if msgs[i].Seq != prevSeq+1 {
			prevCount = 0 // not following the head: count unknown
		}
		msgs[i].Count = chat.CountAfter(prevSeq, prevCount, msgs[i].Kind)
		prevSeq, prevCount = msgs[i].Seq, msgs[i].Count
	}
	if ref.Kind == chat.KindDM {
		if err := db.EnsureDMEntries(ctx, ref, msgs[0].CreatedAt); err != nil {
			return err
		}
	}
	for start := 0; start < len(msgs); start += 25 {
		var reqs []types.WriteRequest
		for _, m := range msgs[start:min(start+25, len(msgs))] {
			item, err := attributevalue.MarshalMap(toMsgItem(m))
			if err != nil {
				return wrap("marshal message", err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		if err := db.batchWrite(ctx, "import messages", map[string][]types.WriteRequest{db.t.Messages: reqs}); err != nil {
			return err
		}
	}
	last := msgs[len(msgs)-1]
	return db.AdvanceConversation(ctx, ref, last, "")
}

// messageConflict answers a message update whose condition failed: the
// message as it stands (nil if there is none) and chat.ErrConflict.
func messageConflict(err error) (chat.Message, *chat.Message, error) {
	old := conditionOld(err)
	if old == nil {
		return chat.Message{}, nil, chat.ErrConflict
	}
	o, derr := decodeMessage(old)
	if derr != nil {
		return chat.Message{}, nil, derr
	}
	return chat.Message{}, &o, chat.ErrConflict
}
