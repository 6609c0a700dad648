package bench

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestItemSize: DynamoDB's item size rules, which decide every write and
// read unit the cost model bills.
func TestItemSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string: name plus UTF-8 bytes", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "héllo"}}, 2 + 6},
		{"number: significant digits halved plus one", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "1234567"}}, 1 + 5},
		{"number: leading and trailing zeros are not significant", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "-00120.500"}}, 1 + 3},
		{"bool and null are one byte", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"map: 3 bytes, one per element, keys and values", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"ab": &types.AttributeValueMemberS{Value: "xyz"}}}}, 1 + 3 + 1 + 2 + 3},
		{"list: 3 bytes plus one per element", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberS{Value: "bc"}}}}, 1 + 3 + 2 + 3},
		{"binary: its bytes", map[string]types.AttributeValue{"bin": &types.AttributeValueMemberB{Value: []byte(strings.Repeat("x", 1000))}}, 3 + 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ItemSize(tc.item); got != tc.want {
				t.Errorf("ItemSize = %d, want %d", got, tc.want)
			}
		})
	}
}
