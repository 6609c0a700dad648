package dynamo

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// lambdaImage is an item as Lambda hands it to a stream function: the
// item's attribute values in DynamoDB's JSON, read by aws-lambda-go.
func lambdaImage(t *testing.T, item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	t.Helper()
	var wire func(v types.AttributeValue) any
	wire = func(v types.AttributeValue) any {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			return map[string]any{"S": v.Value}
		case *types.AttributeValueMemberN:
			return map[string]any{"N": v.Value}
		case *types.AttributeValueMemberBOOL:
			return map[string]any{"BOOL": v.Value}
		case *types.AttributeValueMemberM:
			m := map[string]any{}
			for k, e := range v.Value {
				m[k] = wire(e)
			}
			return map[string]any{"M": m}
		case *types.AttributeValueMemberL:
			var l []any
			for _, e := range v.Value {
				l = append(l, wire(e))
			}
			return map[string]any{"L": l}
		}
		t.Fatalf("attribute type %T not in this test", v)
		return nil
	}
	m := map[string]any{}
	for k, v := range item {
		m[k] = wire(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStreamMessage: a message item read from the stream decodes to the
// message stored; heads and claims are not messages.
func TestStreamMessage(t *testing.T) {
	at := time.UnixMilli(1764633600123).UTC()
	for _, m := range []chat.Message{
		{ConversationID: "dm:a:b", Seq: 7, MessageID: "m1", Kind: chat.KindMessage, ClientMsgID: "c1", SenderType: chat.SenderUser,
			SenderID: "a", Text: "hello", Payload: &chat.Payload{Type: "card", Data: json.RawMessage(`{"x":[1,true,"y"]}`)}, CreatedAt: at, Count: 7, Fingerprint: "fp"},
		{ConversationID: "g:team", Seq: 12, MessageID: "m2", Kind: chat.KindRecall, RefSeq: 3, SenderType: chat.SenderSystem, CreatedAt: at, Count: 11},
	} {
		item, err := attributevalue.MarshalMap(toMsgItem(m))
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := StreamMessage(lambdaImage(t, item))
		if err != nil || !ok {
			t.Fatalf("%s/%d: ok=%v %v", m.ConversationID, m.Seq, ok, err)
		}
		want, _ := decodeMessage(item)
		if !reflect.DeepEqual(got, want) || got.Seq != m.Seq || got.Text != m.Text || !got.CreatedAt.Equal(at) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	}
	for _, sk := range []string{"META", "CMID#a#c1"} {
		image := lambdaImage(t, map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "C#dm:a:b"},
			"sk": &types.AttributeValueMemberS{Value: sk}, "last_seq": &types.AttributeValueMemberN{Value: "3"}})
		if _, ok, err := StreamMessage(image); ok || err != nil {
			t.Fatalf("%s: ok=%v %v, want skipped", sk, ok, err)
		}
	}
}
