package dynamo

// Reading the messages table's stream as Lambda delivers it: the new image
// of a message item, in aws-lambda-go's attribute value type, decoded the
// way the adapter decodes the items it reads (decodeMessage).

import (
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
)

// StreamMessage decodes a stream record's new image. ok is false for an
// item that is not a message (a head, a claim, an entry): the template's
// filter keeps those from the function, and a record that slips through
// is skipped, not failed.
func StreamMessage(image map[string]events.DynamoDBAttributeValue) (m chat.Message, ok bool, err error) {
	sk := image["sk"]
	if sk.DataType() != events.DataTypeString || !strings.HasPrefix(sk.String(), msgPrefix) {
		return chat.Message{}, false, nil
	}
	item, err := fromStream(image)
	if err != nil {
		return chat.Message{}, false, err
	}
	m, err = decodeMessage(item)
	return m, err == nil, err
}

func fromStream(in map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(in))
	for k, v := range in {
		av, err := fromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("dynamo: stream image %q: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromStreamValue(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		var l []types.AttributeValue
		for _, e := range v.List() {
			av, err := fromStreamValue(e)
			if err != nil {
				return nil, err
			}
			l = append(l, av)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := fromStream(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
