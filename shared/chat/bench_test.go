package chat_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// bulkUsers writes n users with BatchWriteItem (set-up only).
func bulkUsers(b *testing.B, env *testenv.Env, prefix string, n int) []string {
	b.Helper()
	client := dynamodb.NewFromConfig(env.Cfg)
	ids := make([]string, n)
	now := time.Now().UTC()
	for start := 0; start < n; start += 25 {
		var reqs []types.WriteRequest
		for i := start; i < min(start+25, n); i++ {
			ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
			item, err := dynamo.UserItem(users.User{UserID: ids[i], CreatedAt: now, UpdatedAt: now, Gen: now.UnixNano()}, "")
			if err != nil {
				b.Fatal(err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		items := map[string][]types.WriteRequest{env.Tables.Users: reqs}
		for len(items) > 0 {
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
			if err != nil {
				b.Fatal(err)
			}
			items = out.UnprocessedItems
		}
	}
	return ids
}

// BenchmarkSend measures one send's DynamoDB requests and units: a DM and
// groups of 10 and 1,000 members, against the baseline of the DM measured
// in the same run (x_dm: requests relative to it; 1.00 means group size
// costs nothing).
func BenchmarkSend(b *testing.B) {
	testenv.NeedAWS(b) // measures DynamoDB requests and units
	env := testenv.Get(b)
	svc := chat.NewService(env.DB(env.Cfg).Chat, env.Cursors, chat.Config{}, chat.Options{})
	prefix := testenv.ID("bench")
	ids := bulkUsers(b, env, prefix, 1000)
	owner := *testenv.User(ids[0])
	g10, _, err := svc.CreateGroup(ctx, owner, chat.CreateGroupInput{Members: ids[1:10]})
	if err != nil {
		b.Fatal(err)
	}
	g1000, _, err := svc.CreateGroup(ctx, owner, chat.CreateGroupInput{Members: ids[1:]})
	if err != nil {
		b.Fatal(err)
	}
	if g1000.MemberCount != 1000 {
		b.Fatalf("group of %d", g1000.MemberCount)
	}
	cfg, counter := env.Counted()
	counted := chat.NewService(env.DB(cfg).Chat, env.Cursors, chat.Config{}, chat.Options{})
	text := "hello, this is a typical short chat message"
	cases := []struct {
		name string
		in   chat.SendInput
	}{
		{"dm", chat.SendInput{ToUser: ids[1], Text: text}},
		{"group_10", chat.SendInput{ToGroup: g10.GroupID, Text: text}},
		{"group_1000", chat.SendInput{ToGroup: g1000.GroupID, Text: text}},
	}
	var baseline float64
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if _, _, err := counted.Send(ctx, owner, tc.in); err != nil { // creates the DM: not measured
				b.Fatal(err)
			}
			counter.Reset()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in := tc.in
				in.ClientMsgID = fmt.Sprintf("b%d-%d", time.Now().UnixNano(), i)
				if _, _, err := counted.Send(ctx, owner, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, counter.Snapshot(), &baseline)
		})
	}
}

func report(b *testing.B, s awsclient.Snapshot, baseline *float64) {
	n := float64(b.N)
	reqs := float64(s.Total("DynamoDB")) / n
	b.ReportMetric(reqs, "requests/op")
	b.ReportMetric(float64(readRequests(s))/n, "reads/op")
	b.ReportMetric(s.WriteUnits/n, "WCU/op")
	b.ReportMetric(s.ReadUnits/n, "RCU/op")
	if *baseline == 0 {
		*baseline = reqs
	}
	b.ReportMetric(reqs / *baseline, "x_dm")
}
