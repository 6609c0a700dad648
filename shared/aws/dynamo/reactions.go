package dynamo

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// Reactions live on the message item, in top-level attributes (DynamoDB's
// ADD and DELETE work only on those):
//
//	ru_<user id>           string set  the emojis that user reacted with
//	rxe                    string set  the emojis with a reactor
//	rc_<hex of the emoji>  number      how many users reacted with it
//
// Counts shown are counted from the ru_ sets when read; rc_ only tells a
// removal when an emoji's last reactor left, so it can drop the emoji
// from rxe (which the distinct-emoji limit checks).
//
// One conditional UpdateItem adds or removes a reaction and checks every
// limit against the item as it is, so concurrent reactors are counted
// exactly, a repeated reaction counts once, and no request passes a
// limit. Reading a message reads its reactions with it: no extra request
// in history or sync (docs/data-model.md, "Reactions").

const (
	reactionCountPrefix = "rc_"
	reactorPrefix       = "ru_"
)

func reactionCountAttr(emoji string) string {
	return reactionCountPrefix + hex.EncodeToString([]byte(emoji))
}

// reactionsOf reads the reactors of a message item and counts them.
func reactionsOf(item map[string]types.AttributeValue, m *chat.Message) {
	for name, v := range item {
		if ss, ok := v.(*types.AttributeValueMemberSS); ok && strings.HasPrefix(name, reactorPrefix) && len(ss.Value) > 0 {
			if m.Reactors == nil {
				m.Reactors = map[string][]string{}
			}
			m.Reactors[strings.TrimPrefix(name, reactorPrefix)] = slices.Sorted(slices.Values(ss.Value))
		}
	}
	m.Reactions = chat.CountReactions(m.Reactors)
}

// React adds or removes one user's reaction (one UpdateItem, 1 WCU per KB
// of the message; removing an emoji's last reactor adds one UpdateItem
// that drops the emoji).
func (db *Messages) React(ctx context.Context, ch chat.ReactionChange) (chat.Message, *chat.Message, error) {
	k := key(convPK(ch.ConversationID), msgSK(ch.Seq))
	names := map[string]string{"#ru": reactorPrefix + ch.UserID, "#rc": reactionCountAttr(ch.Emoji)}
	vals := map[string]types.AttributeValue{":e": &types.AttributeValueMemberSS{Value: []string{ch.Emoji}}, ":ev": str(ch.Emoji)}
	in := &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: k, ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnValues: types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if ch.Remove {
		in.UpdateExpression = aws.String("ADD #rc :minus DELETE #ru :e")
		in.ConditionExpression = aws.String("contains(#ru, :ev)")
		vals[":minus"] = num(-1)
	} else {
		// A message, not an event message (no kind), not recalled; the
		// user has not reacted so and has room; the emoji is counted
		// already or there is room for another.
		in.UpdateExpression = aws.String("ADD #ru :e, #rc :one, rxe :e")
		in.ConditionExpression = aws.String("attribute_exists(pk) AND attribute_not_exists(recalled_at) AND attribute_not_exists(kind)" +
			" AND NOT contains(#ru, :ev) AND (attribute_not_exists(#ru) OR size(#ru) < :pu)" +
			" AND (attribute_not_exists(rxe) OR contains(rxe, :ev) OR size(rxe) < :kinds)")
		vals[":one"], vals[":pu"], vals[":kinds"] = num(1), num(int64(ch.MaxPerUser)), num(int64(ch.MaxKinds))
	}
	out, err := db.client.UpdateItem(ctx, in)
	if IsConditionFailed(err) {
		return messageConflict(err)
	}
	if err != nil {
		return chat.Message{}, nil, wrap("react", err)
	}
	if ch.Remove {
		if n, ok := out.Attributes[names["#rc"]].(*types.AttributeValueMemberN); ok && n.Value == "0" {
			// The emoji's last reactor left: drop it, unless someone
			// reacted with it meanwhile.
			out2, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Messages, Key: k,
				UpdateExpression: aws.String("REMOVE #rc DELETE rxe :e"), ConditionExpression: aws.String("#rc = :zero"),
				ExpressionAttributeNames:  map[string]string{"#rc": names["#rc"]},
				ExpressionAttributeValues: map[string]types.AttributeValue{":e": vals[":e"], ":zero": num(0)},
				ReturnValues:              types.ReturnValueAllNew})
			switch {
			case err == nil:
				out = &dynamodb.UpdateItemOutput{Attributes: out2.Attributes}
			case !IsConditionFailed(err):
				return chat.Message{}, nil, wrap("react: drop emoji", err)
			}
		}
	}
	m, err := decodeMessage(out.Attributes)
	return m, nil, err
}
