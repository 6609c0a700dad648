package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	tevents "github.com/tokenim/tokenim/shared/events"
)

func s(v string) events.DynamoDBAttributeValue { return events.NewStringAttribute(v) }
func n(v string) events.DynamoDBAttributeValue { return events.NewNumberAttribute(v) }

type image = map[string]events.DynamoDBAttributeValue

func record(op string, keys, old, nw image) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: op, Change: events.DynamoDBStreamRecord{Keys: keys, OldImage: old, NewImage: nw,
		SequenceNumber: "4200", ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Unix(1795237805, 0)}}}
}

// TestStreamChange: each table's items decode into the change the events
// are derived from; items that mean no event are skipped.
func TestStreamChange(t *testing.T) {
	user := func(nick string) image {
		return image{"pk": s("US#3"), "sk": s("alice"), "nickname": s(nick), "created_at": n("1795237805000"), "updated_at": n("1795237805000"), "gen": n("2")}
	}
	member := image{"pk": s("G#team"), "sk": s("M#bob"), "role": s("admin"), "muted": events.NewBooleanAttribute(true), "joined_at": n("1795237805000")}
	job := func(done string) image {
		return image{"pk": s("JOB#j1"), "sk": s("JOB"), "kind": s("users"), "total": n("4"), "created": n(done), "failed": n("0"), "chunks": n("2"), "chunks_done": n("1")}
	}
	for _, tc := range []struct {
		name  string
		r     events.DynamoDBEventRecord
		ok    bool
		check func(c tevents.Change) bool
	}{
		{"user renamed", record("MODIFY", image{"pk": s("US#3"), "sk": s("alice")}, user("Al"), user("Alice")), true,
			func(c tevents.Change) bool {
				return c.OldUser.Nickname == "Al" && c.NewUser.Nickname == "Alice" && c.NewUser.Gen == 2
			}},
		{"member removed", record("REMOVE", image{"pk": s("G#team"), "sk": s("M#bob")}, member, nil), true,
			func(c tevents.Change) bool {
				return c.NewMember == nil && c.OldMember.GroupID == "team" && c.OldMember.UserID == "bob" && c.OldMember.Muted
			}},
		{"job counted", record("MODIFY", image{"pk": s("JOB#j1"), "sk": s("JOB")}, job("2"), job("4")), true,
			func(c tevents.Change) bool {
				return c.OldJob.Created == 2 && c.NewJob.Created == 4 && c.NewJob.JobID == "j1"
			}},
		{"entry", record("MODIFY", image{"pk": s("U#bob"), "sk": s("C#dm:alice:bob")}, nil,
			image{"pk": s("U#bob"), "sk": s("C#dm:alice:bob"), "read_seq": n("7")}), true,
			func(c tevents.Change) bool { return c.NewEntry.UserID == "bob" && c.NewEntry.ReadSeq == 7 }},
		{"conversation head", record("MODIFY", image{"pk": s("C#dm:alice:bob"), "sk": s("META")}, nil, image{"pk": s("C#dm:alice:bob"), "sk": s("META")}), false, nil},
		{"claim", record("INSERT", image{"pk": s("C#dm:alice:bob"), "sk": s("CMID#alice#c1")}, nil, image{"pk": s("C#dm:alice:bob")}), false, nil},
		{"credential", record("INSERT", image{"pk": s("CRED#tk_1"), "sk": s("CRED")}, nil, image{"pk": s("CRED#tk_1")}), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, err := StreamChange(tc.r)
			if err != nil || ok != tc.ok {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, tc.ok)
			}
			if ok && (c.Seq != "4200" || c.At.Unix() != 1795237805 || !tc.check(c)) {
				t.Fatalf("change %+v", c)
			}
		})
	}
}
