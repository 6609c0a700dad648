package dynamo

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// profileUpdate builds the UpdateItem expression for a profile patch
// (users and groups share it): nil fields stay, "" or an empty map clears
// the attribute, anything else sets it; updated_at is always set.
// Attribute names go through placeholders (some, like "name", are
// DynamoDB reserved words).
type profileUpdate struct {
	set, remove []string
	names       map[string]string
	vals        map[string]types.AttributeValue
}

func newProfileUpdate(now time.Time) *profileUpdate {
	return &profileUpdate{set: []string{"updated_at = :updated_at"}, names: map[string]string{},
		vals: map[string]types.AttributeValue{":updated_at": num(now.UnixMilli())}}
}

func (u *profileUpdate) str(attr string, v *string) {
	if v == nil {
		return
	}
	u.names["#"+attr] = attr
	if *v == "" {
		u.remove = append(u.remove, "#"+attr)
		return
	}
	u.set = append(u.set, "#"+attr+" = :"+attr)
	u.vals[":"+attr] = str(*v)
}

func (u *profileUpdate) metadata(m *map[string]string) error {
	if m == nil {
		return nil
	}
	u.names["#metadata"] = "metadata"
	if len(*m) == 0 {
		u.remove = append(u.remove, "#metadata")
		return nil
	}
	av, err := attributevalue.Marshal(*m)
	if err != nil {
		return wrap("marshal metadata", err)
	}
	u.set = append(u.set, "#metadata = :metadata")
	u.vals[":metadata"] = av
	return nil
}

func (u *profileUpdate) expression() *string {
	e := "SET " + strings.Join(u.set, ", ")
	if len(u.remove) > 0 {
		e += " REMOVE " + strings.Join(u.remove, ", ")
	}
	return &e
}
