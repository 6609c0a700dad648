package dynamo

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// Pinned messages live on the conversation head, which every list and
// sync reads already:
//
//	pinset         number set  the pinned seqs (its size is the limit's count)
//	pin_<seq>      map         {by, at} of each pin
//
// Top-level attributes, so one conditional UpdateItem pins (ADD to the
// set, SET the pin) and checks the limit against the head as it is.

const pinPrefix = "pin_"

type pinItem struct {
	By string `dynamodbav:"by,omitempty"`
	At int64  `dynamodbav:"at"`
}

// pinsOf reads the pins of a head item.
func pinsOf(item map[string]types.AttributeValue) []chat.Pin {
	var ps []chat.Pin
	for name, v := range item {
		if !strings.HasPrefix(name, pinPrefix) {
			continue
		}
		seq, err := strconv.ParseInt(strings.TrimPrefix(name, pinPrefix), 10, 64)
		var it pinItem
		if err != nil || attributevalue.Unmarshal(v, &it) != nil {
			continue
		}
		ps = append(ps, chat.Pin{Seq: seq, PinnedBy: it.By, PinnedAt: fromMS(it.At)})
	}
	chat.SortPins(ps)
	return ps
}

// PinMessage pins p (one UpdateItem, 1 WCU per KB of the head).
func (db *Messages) PinMessage(ctx context.Context, conv chat.ConversationID, p chat.Pin, max int) ([]chat.Pin, error) {
	info, err := attributevalue.Marshal(pinItem{By: p.PinnedBy, At: p.PinnedAt.UnixMilli()})
	if err != nil {
		return nil, wrap("marshal pin", err)
	}
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: convKey(conv),
		UpdateExpression:          aws.String("ADD pinset :s SET #p = if_not_exists(#p, :info)"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (attribute_not_exists(pinset) OR contains(pinset, :sv) OR size(pinset) < :max)"),
		ExpressionAttributeNames:  map[string]string{"#p": pinPrefix + strconv.FormatInt(p.Seq, 10)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": seqSet(p.Seq), ":sv": num(p.Seq), ":info": info, ":max": num(int64(max))},
		ReturnValues:              types.ReturnValueAllNew})
	if IsConditionFailed(err) {
		return nil, chat.ErrConflict
	}
	if err != nil {
		return nil, wrap("pin", err)
	}
	return pinsOf(out.Attributes), nil
}

// UnpinMessage unpins seq (one UpdateItem).
func (db *Messages) UnpinMessage(ctx context.Context, conv chat.ConversationID, seq int64) ([]chat.Pin, error) {
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: convKey(conv),
		UpdateExpression: aws.String("DELETE pinset :s REMOVE #p"), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#p": pinPrefix + strconv.FormatInt(seq, 10)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": seqSet(seq)},
		ReturnValues:              types.ReturnValueAllNew})
	if IsConditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("unpin", err)
	}
	return pinsOf(out.Attributes), nil
}
