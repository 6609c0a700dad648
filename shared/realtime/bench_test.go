package realtime_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/testenv"
)

// benchGroup is a group of n members, 10 of them online, made once per
// test binary.
type benchGroup struct {
	owner, tab string
	group      chat.Group
}

var (
	benchMu     sync.Mutex
	benchGroups = map[int]*benchGroup{}
)

func (w *world) benchGroup(b *testing.B, n int) *benchGroup {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if g, ok := benchGroups[n]; ok {
		return g
	}
	u := w.newUsers(b, fmt.Sprint("b", n), 10)
	g := &benchGroup{owner: u[0], group: w.group(b, u[0], u[1:])}
	g.tab = w.online(b, u[0])
	for _, id := range u[1:] {
		w.online(b, id)
	}
	w.padMembers(b, g.group.GroupID, n-10)
	benchGroups[n] = g
	return g
}

// padMembers adds n offline members by writing member items straight into
// the groups table (the item layout of shared/aws/dynamo/groups.go): creating
// 10,000 users and ~200 member transactions through chat would take the
// emulator minutes, and a send only ever reads member ids.
func (w *world) padMembers(b *testing.B, gid string, n int) {
	b.Helper()
	client := w.env.DB(w.env.Cfg).Client()
	for start := 0; start < n; start += 25 {
		var reqs []types.WriteRequest
		for i := start; i < min(start+25, n); i++ {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "G#" + gid}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("M#pad-%05d", i)},
				"role": &types.AttributeValueMemberS{Value: "member"}, "joined_at": &types.AttributeValueMemberN{Value: "0"}}}})
		}
		items := map[string][]types.WriteRequest{w.env.Tables.Groups: reqs}
		for attempt := 0; len(items) > 0; attempt++ {
			if attempt == 10 {
				b.Fatal("unprocessed member items")
			}
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
			if err != nil {
				b.Fatal(err)
			}
			items = out.UnprocessedItems
		}
	}
}

// BenchmarkSendLatency times what a group sender waits for: chat.Send
// storing the message plus the push, for a group of 10 members (pushed
// inline: member ids, presence, 9 posts) and of 10,000 members (one
// member-id Query and one SQS message; the fan-out worker does the rest).
// The claim is a ratio near 1: the sender's work does not grow with the
// group. Request counts come from one counted send before the timed ones:
// with ReturnConsumedCapacity (which the counter turns on) the emulator
// sizes a whole partition per Query, which real DynamoDB does not.
//
// Both groups exist before either is timed: the emulator's Query time grows
// with the table's size (DynamoDB's does not), so both sizes are measured
// against the same table.
func BenchmarkSendLatency(b *testing.B) {
	testenv.NeedAWS(b) // measures DynamoDB and SQS requests
	w := newWorld(b)
	sizes := []int{10, 10000}
	for _, n := range sizes {
		w.benchGroup(b, n)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			g := w.benchGroup(b, n)
			service := func(cfg aws.Config) *chat.Service {
				rt := realtime.NewNotifier(w.env.DB(cfg).Connections, w.gw.Pusher(cfg), w.fanoutQueue(cfg), realtime.Config{}, discard)
				return chat.NewService(w.env.DB(cfg).Chat, w.env.Cursors, chat.Config{MaxGroupMembers: 10000}, chat.Options{Notifier: rt})
			}
			sender := *testenv.User(g.owner)
			ctx := realtime.WithOrigin(ctx, g.tab)
			in := chat.SendInput{ToGroup: g.group.GroupID, Text: "bench"}
			acfg, c := w.env.Counted()
			if _, _, err := service(acfg).Send(ctx, sender, in); err != nil {
				b.Fatal(err)
			}
			s := c.Snapshot()
			svc := service(w.env.Cfg)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := svc.Send(ctx, sender, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(s.Total("DynamoDB")), "ddb-req/op")
			b.ReportMetric(float64(s.Total("SQS")), "sqs-req/op")
			b.ReportMetric(float64(s.Count("ApiGatewayManagementApi.PostToConnection")), "posts/op")
		})
	}
}
