package chat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
)

// counted returns a service whose every AWS request is counted.
func (f *fixture) counted(t *testing.T) (*chat.Service, *awsclient.Counter) {
	t.Helper()
	cfg, c := f.env.Counted()
	return chat.NewService(f.env.DB(cfg), f.env.Cursors, chat.Config{}, chat.Options{}), c
}

// readRequests counts DynamoDB requests that read (GetItem, BatchGetItem, Query).
func readRequests(s awsclient.Snapshot) int {
	return s.Count("DynamoDB.GetItem") + s.Count("DynamoDB.BatchGetItem") + s.Count("DynamoDB.Query") + s.Count("DynamoDB.Scan")
}

// TestSendCost pins the cost of a send: a DM under 1 KB to an existing
// conversation is at most 3 write units and 2 read requests, and a group
// message costs the same at any group size. No Scan, no transaction.
func TestSendCost(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "cost", 12)
	small := f.group(t, u[0], u[1:3]...)
	big := f.group(t, u[0], u[1:]...)
	f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: "first"}) // creates the DM
	svc, c := f.counted(t)
	text := strings.Repeat("x", 700) // with keys and ids, a message item under 1 KB

	tests := []struct {
		name string
		in   chat.SendInput
	}{
		{"dm", chat.SendInput{ToUser: u[1], Text: text, ClientMsgID: "k1"}},
		{"group of 3", chat.SendInput{ToGroup: small.GroupID, Text: text, ClientMsgID: "k2"}},
		{"group of 12", chat.SendInput{ToGroup: big.GroupID, Text: text, ClientMsgID: "k3"}},
	}
	var prev *awsclient.Snapshot
	for _, tc := range tests {
		c.Reset()
		if _, _, err := svc.Send(ctx, user(u[0]), tc.in); err != nil {
			t.Fatal(err)
		}
		s := c.Snapshot()
		t.Logf("%s: %s", tc.name, s)
		if r := readRequests(s); r > 2 {
			t.Errorf("%s: %d read requests, want <= 2", tc.name, r)
		}
		if w := s.Count("DynamoDB.PutItem") + s.Count("DynamoDB.UpdateItem"); w != 3 {
			t.Errorf("%s: %d writes, want 3", tc.name, w)
		}
		if s.WriteUnits > 3 {
			t.Errorf("%s: %.1f WCU, want <= 3", tc.name, s.WriteUnits)
		}
		if s.Count("DynamoDB.Scan")+s.Count("DynamoDB.TransactWriteItems")+s.Count("DynamoDB.TransactGetItems") > 0 {
			t.Errorf("%s: scan or transaction used: %s", tc.name, s)
		}
		if prev != nil && strings.HasPrefix(tc.name, "group") && fmt.Sprint(prev.Requests) != fmt.Sprint(s.Requests) {
			t.Errorf("group send cost depends on size: %v vs %v", prev.Requests, s.Requests)
		}
		if strings.HasPrefix(tc.name, "group") {
			cp := s
			prev = &cp
		}
	}
}
