package dynamo

import (
	"context"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// Mentions. A message that mentions users adds its seq to each one's
// entry (`ment`, a number set: ADD is idempotent, so a retry or the
// backstop records a seq once); one that mentions @all adds it to the
// head (`mall`), which keeps the newest chat.MaxMentionAllKept. A user's
// unread mentions are the seqs of both above the user's read_seq; marking
// read removes the entry's read ones.

func seqSet(seqs ...int64) types.AttributeValue {
	ns := make([]string, len(seqs))
	for i, s := range seqs {
		ns[i] = strconv.FormatInt(s, 10)
	}
	return &types.AttributeValueMemberNS{Value: ns}
}

func sortedSeqs(s []int64) []int64 {
	if len(s) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}

// RecordMentions adds seq to the mentioned users' entries (one UpdateItem
// each, 1 WCU; a missing entry - the user left - is skipped) and, with
// all, to the head (one UpdateItem, + one to drop the oldest past the
// cap).
func (db *Messages) RecordMentions(ctx context.Context, conv chat.ConversationID, seq int64, users []string, all bool) error {
	for _, u := range users {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(entryPK(u), entrySK(conv)),
			UpdateExpression: aws.String("ADD ment :s"), ConditionExpression: aws.String("attribute_exists(pk) AND read_seq < :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": seqSet(seq), ":n": num(seq)}})
		if err != nil && !IsConditionFailed(err) { // failed: not a member now, or read past it already
			return wrap("record mention", err)
		}
	}
	if !all {
		return nil
	}
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: convKey(conv),
		UpdateExpression: aws.String("ADD mall :s"), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": seqSet(seq)}, ReturnValues: types.ReturnValueUpdatedNew})
	if IsConditionFailed(err) {
		return nil // no head yet (a group always has one)
	}
	if err != nil {
		return wrap("record @all", err)
	}
	var it struct {
		MAll []int64 `dynamodbav:"mall,numberset"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return wrap("decode @all", err)
	}
	if extra := len(it.MAll) - chat.MaxMentionAllKept; extra > 0 {
		old := sortedSeqs(it.MAll)[:extra]
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: convKey(conv),
			UpdateExpression: aws.String("DELETE mall :old"), ExpressionAttributeValues: map[string]types.AttributeValue{":old": seqSet(old...)}})
		if err != nil {
			return wrap("prune @all", err)
		}
	}
	return nil
}

// pruneMentions removes the mentions e has read from its entry (one
// UpdateItem, only when there are some) and returns e without them.
func (db *Messages) pruneMentions(ctx context.Context, e chat.Entry) (chat.Entry, error) {
	var read, unread []int64
	for _, s := range e.Mentions {
		if s <= e.ReadSeq {
			read = append(read, s)
		} else {
			unread = append(unread, s)
		}
	}
	if len(read) == 0 {
		return e, nil
	}
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: key(entryPK(e.UserID), entrySK(e.ConversationID)),
		UpdateExpression: aws.String("DELETE ment :old"), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":old": seqSet(read...)}})
	if err != nil && !IsConditionFailed(err) {
		return chat.Entry{}, wrap("prune mentions", err)
	}
	e.Mentions = unread
	return e, nil
}
