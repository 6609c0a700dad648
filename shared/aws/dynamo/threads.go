package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// Threads and quotes. A thread reply is an ordinary message (its seq is
// the conversation's next, so sync is unchanged) that also writes a small
// index item under its root:
//
//	pk "C#<conversation_id>"  sk "THR#<root seq, 12 digits>#<reply seq, 12 digits>"
//
// The root's summary (thread_n, thread_last, thread_at) is recomputed
// from the index after each reply and written only if it counts more than
// the stored one. Counting the index instead of adding 1 makes the count
// exact whatever happens: a retry or the backstop recounts without adding
// twice, and of concurrent replies the one that indexed last counts them
// all (it reads after every other reply's index write), and its update is
// the one that sticks.

const threadPrefix = "THR#"

func threadSK(root, seq int64) string { return fmt.Sprintf("%s%012d#%012d", threadPrefix, root, seq) }

type threadItem struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	Seq int64  `dynamodbav:"seq"`
	At  int64  `dynamodbav:"at"`
}

// GetMessages reads messages by seq (consistent BatchGetItem, 100 keys per
// request, 1 RCU per message under 4 KB). Absent ones are not in the map.
func (db *Messages) GetMessages(ctx context.Context, conv chat.ConversationID, seqs []int64) (map[int64]chat.Message, error) {
	out := map[int64]chat.Message{}
	seen := map[int64]bool{}
	keys := make([]map[string]types.AttributeValue, 0, len(seqs))
	for _, s := range seqs {
		if !seen[s] { // BatchGetItem refuses duplicate keys
			seen[s] = true
			keys = append(keys, key(convPK(conv), msgSK(s)))
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	err := db.batchGet(ctx, db.t.Messages, keys, "", func(item map[string]types.AttributeValue) error {
		m, err := decodeMessage(item)
		if err != nil {
			return err
		}
		out[m.Seq] = m
		return nil
	})
	return out, err
}

// RecordThreadReply indexes reply under its root (PutItem, 1 WCU),
// counts the index (one consistent Query: ~45 B an item, so 1 RCU per
// ~90 replies) and raises the root's summary to the count (UpdateItem,
// 1 WCU per KB of the root). Idempotent.
func (db *Messages) RecordThreadReply(ctx context.Context, conv chat.ConversationID, root int64, reply chat.Message) (chat.Thread, error) {
	item, err := attributevalue.MarshalMap(threadItem{PK: convPK(conv), SK: threadSK(root, reply.Seq), Seq: reply.Seq, At: reply.CreatedAt.UnixMilli()})
	if err != nil {
		return chat.Thread{}, wrap("marshal thread item", err)
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Messages, Item: item}); err != nil {
		return chat.Thread{}, wrap("index thread reply", err)
	}
	var th chat.Thread
	var start map[string]types.AttributeValue
	for page := 0; page < 1000; page++ {
		out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Messages,
			KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :t)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(convPK(conv)), ":t": str(fmt.Sprintf("%s%012d#", threadPrefix, root))},
			ConsistentRead:            aws.Bool(true), ProjectionExpression: aws.String("seq, #at"),
			ExpressionAttributeNames: map[string]string{"#at": "at"}, ExclusiveStartKey: start})
		if err != nil {
			return chat.Thread{}, wrap("count thread", err)
		}
		for _, it := range out.Items {
			var ti threadItem
			if err := attributevalue.UnmarshalMap(it, &ti); err != nil {
				return chat.Thread{}, wrap("decode thread item", err)
			}
			th.ReplyCount++
			if ti.Seq > th.LastReplySeq {
				th.LastReplySeq, th.LastReplyAt = ti.Seq, fromMS(ti.At)
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(convPK(conv), msgSK(root)),
		UpdateExpression:    aws.String("SET thread_n = :n, thread_last = :l, thread_at = :at"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(thread_n) OR thread_n < :n)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(th.ReplyCount), ":l": num(th.LastReplySeq),
			":at": num(th.LastReplyAt.UnixMilli())}})
	if err != nil && !IsConditionFailed(err) { // failed: a count as high is stored already
		return chat.Thread{}, wrap("update thread root", err)
	}
	return th, nil
}

// ThreadReplies returns the seqs of up to limit replies to root after
// seq after, oldest first (consistent Query of index items).
func (db *Messages) ThreadReplies(ctx context.Context, conv chat.ConversationID, root, after int64, limit int) ([]int64, error) {
	if limit <= 0 {
		return nil, nil
	}
	var seqs []int64
	var start map[string]types.AttributeValue
	for len(seqs) < limit {
		out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: &db.t.Messages,
			KeyConditionExpression: aws.String("pk = :p AND sk BETWEEN :lo AND :hi"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(convPK(conv)), ":lo": str(threadSK(root, after+1)),
				":hi": str(threadSK(root, chat.MaxSeq))},
			ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("seq"), Limit: aws.Int32(int32(limit - len(seqs))),
			ExclusiveStartKey: start})
		if err != nil {
			return nil, wrap("thread replies", err)
		}
		for _, it := range out.Items {
			var ti threadItem
			if err := attributevalue.UnmarshalMap(it, &ti); err != nil {
				return nil, wrap("decode thread item", err)
			}
			seqs = append(seqs, ti.Seq)
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	return seqs, nil
}
