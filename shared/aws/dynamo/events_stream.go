package dynamo

// Reading the Users, Groups and Messages tables' streams for the events
// function (shared/events): a record's images decoded into the domain
// types, whichever table it came from. The item kinds are told apart by
// their keys, which no two tables share (US# users, G# groups and
// members, C#/MSG# messages, U#/C# entries, JOB#/JOB jobs).

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/batch"
	tevents "github.com/tokenim/tokenim/shared/events"
)

// StreamChange decodes one stream record. ok is false for an item no
// event is derived from (a conversation head, a claim, a credential).
func StreamChange(r events.DynamoDBEventRecord) (c tevents.Change, ok bool, err error) {
	pk, sk := r.Change.Keys[attrPK], r.Change.Keys[attrSK]
	if pk.DataType() != events.DataTypeString || sk.DataType() != events.DataTypeString {
		return c, false, nil
	}
	c = tevents.Change{Op: tevents.Op(r.EventName), Seq: r.Change.SequenceNumber, At: r.Change.ApproximateCreationDateTime.UTC()}
	old, nw, err := streamImages(r)
	if err != nil {
		return c, false, err
	}
	p, s := pk.String(), sk.String()
	switch {
	case strings.HasPrefix(p, "C#") && strings.HasPrefix(s, msgPrefix):
		c.OldMessage, c.NewMessage, err = decodeBoth(old, nw, decodeMessage)
	case strings.HasPrefix(p, "U#") && strings.HasPrefix(s, "C#"):
		c.OldEntry, c.NewEntry, err = decodeBoth(old, nw, decodeEntry)
	case strings.HasPrefix(p, "G#") && s == groupSK:
		c.OldGroup, c.NewGroup, err = decodeBoth(old, nw, decodeGroup)
	case strings.HasPrefix(p, "G#") && strings.HasPrefix(s, memberPrefix):
		c.OldMember, c.NewMember, err = decodeBoth(old, nw, decodeMember)
	case strings.HasPrefix(p, "JOB#") && s == "JOB":
		c.OldJob, c.NewJob, err = decodeBoth(old, nw, decodeJob)
	case strings.HasPrefix(p, "US#"):
		c.OldUser, c.NewUser, err = decodeBoth(old, nw, decodeUser)
	default:
		return c, false, nil
	}
	return c, err == nil, err
}

func streamImages(r events.DynamoDBEventRecord) (old, nw map[string]types.AttributeValue, err error) {
	if len(r.Change.OldImage) > 0 {
		if old, err = fromStream(r.Change.OldImage); err != nil {
			return nil, nil, err
		}
	}
	if len(r.Change.NewImage) > 0 {
		if nw, err = fromStream(r.Change.NewImage); err != nil {
			return nil, nil, err
		}
	}
	return old, nw, nil
}

func decodeBoth[T any](old, nw map[string]types.AttributeValue, decode func(map[string]types.AttributeValue) (T, error)) (*T, *T, error) {
	var o, n *T
	for _, x := range []struct {
		img map[string]types.AttributeValue
		dst **T
	}{{old, &o}, {nw, &n}} {
		if x.img == nil {
			continue
		}
		v, err := decode(x.img)
		if err != nil {
			return nil, nil, err
		}
		*x.dst = &v
	}
	return o, n, nil
}

func decodeJob(m map[string]types.AttributeValue) (batch.Job, error) {
	var it jobItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return batch.Job{}, wrap("decode job", err)
	}
	return it.job(), nil
}
