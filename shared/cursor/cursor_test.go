package cursor

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
)

func TestRoundTripAndTamper(t *testing.T) {
	c := New([]byte("k1"))
	p := Page{Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "US#3"}, "n": &types.AttributeValueMemberN{Value: "42"}}, Extra: map[string]string{"shard": "3"}}
	tok, err := c.Encode("users", p)
	if err != nil || tok == "" {
		t.Fatal(tok, err)
	}
	got, err := c.Decode("users", tok)
	if err != nil || got.Key["pk"].(*types.AttributeValueMemberS).Value != "US#3" || got.Key["n"].(*types.AttributeValueMemberN).Value != "42" || got.Extra["shard"] != "3" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if empty, _ := c.Encode("users", Page{}); empty != "" {
		t.Fatal("empty page must encode to no cursor")
	}
	flip := []byte(tok)
	flip[len(flip)-2] ^= 1
	bad := []string{
		"not base64 !!",
		"abc",
		string(flip),
		tok[:len(tok)-3],
		strings.Repeat("A", 5000),
	}
	for _, b := range bad {
		if _, err := c.Decode("users", b); !apierror.Is(err, apierror.InvalidCursor) {
			t.Errorf("Decode(%.20q) = %v, want invalid_cursor", b, err)
		}
	}
	if _, err := c.Decode("conversation:other", tok); !apierror.Is(err, apierror.InvalidCursor) {
		t.Error("cursor accepted in another scope")
	}
	if _, err := New([]byte("k2")).Decode("users", tok); !apierror.Is(err, apierror.InvalidCursor) {
		t.Error("cursor accepted under another key")
	}
}
