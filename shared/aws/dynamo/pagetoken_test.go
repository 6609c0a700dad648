package dynamo

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestPageTokenRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		shard int
		start map[string]types.AttributeValue
	}{
		{"string and number key", 3, map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "US#3"}, "n": &types.AttributeValueMemberN{Value: "42"}}},
		{"top of a shard", 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := encodePage(tt.shard, tt.start)
			if err != nil || len(tok) == 0 {
				t.Fatalf("encodePage = %q, %v", tok, err)
			}
			shard, start, err := decodePage(tok)
			if err != nil || shard != tt.shard || !reflect.DeepEqual(start, tt.start) {
				t.Fatalf("decodePage = %d, %v, %v; want %d, %v", shard, start, err, tt.shard, tt.start)
			}
		})
	}
}

func TestPageTokenRejects(t *testing.T) {
	if _, err := encodePage(0, map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{Value: true}}); err == nil {
		t.Error("a boolean key attribute was encoded")
	}
	for _, tok := range []string{"x", `{"k":{"pk":{}}}`, `{"n":"1"}`} {
		if _, _, err := decodePage([]byte(tok)); err == nil {
			t.Errorf("decodePage(%s) accepted", tok)
		}
	}
}
