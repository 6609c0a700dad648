package attachments_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestCost pins the requests of each attachments operation:
//   - create upload (group): BatchGetItem (membership), UpdateItem (quota),
//     PutItem (record); a DM skips the read. Presigning sends nothing.
//   - send with n attachments, over a plain send: BatchGetItem (records),
//     n HeadObject, n PutObjectTagging, one TransactWriteItems.
//   - download URL: BatchGetItem (access), BatchGetItem (record).
//
// A presigned URL is built by the SDK's middleware stack, which the
// counter sees (S3.PutObject, S3.GetObject: 1 each), but no request is sent.
func TestCost(t *testing.T) {
	f := newFixture(t, attachments.Config{})
	u := f.newUsers(t, 2)
	g, _, err := f.chat.CreateGroup(ctx, user(u[0]), chat.CreateGroupInput{Name: "g", Members: []string{u[1]}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, c := f.env.Counted()
	cs, as, _ := f.services(cfg, attachments.Config{})
	f.chat, f.att = cs, as

	c.Reset()
	f.create(t, user(u[0]), g.ConversationID, "a.png", "image/png", 10)
	check(t, "create upload (group)", c.Snapshot(), map[string]int{"DynamoDB.BatchGetItem": 1, "DynamoDB.UpdateItem": 1, "DynamoDB.PutItem": 1, "S3.PutObject": 1})
	c.Reset()
	f.create(t, user(u[0]), chat.DMID(u[0], u[1]), "a.png", "image/png", 10)
	check(t, "create upload (DM)", c.Snapshot(), map[string]int{"DynamoDB.UpdateItem": 1, "DynamoDB.PutItem": 1, "S3.PutObject": 1})

	// The extra of a send with attachments is measured against the same
	// send without: the chat path is chat's cost test's.
	send := func(as []chat.Attachment) awsclient.Snapshot {
		t.Helper()
		c.Reset()
		if _, _, err := f.chat.Send(ctx, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "x", Attachments: as}); err != nil {
			t.Fatal(err)
		}
		return c.Snapshot()
	}
	plain := send(nil)
	for _, n := range []int{1, 3} {
		var as []chat.Attachment
		for range n {
			as = append(as, f.uploaded(t, user(u[0]), g.ConversationID, "a.png", "image/png", png))
		}
		with := send(as)
		extra := map[string]int{}
		for op, k := range with.Requests {
			if d := k - plain.Requests[op]; d != 0 {
				extra[op] = d
			}
		}
		want := map[string]int{"DynamoDB.BatchGetItem": 1, "S3.HeadObject": n, "S3.PutObjectTagging": n, "DynamoDB.TransactWriteItems": 1}
		check(t, "send extra", awsclient.Snapshot{Requests: extra}, want)
	}

	a := f.uploaded(t, user(u[0]), g.ConversationID, "a.png", "image/png", png)
	send([]chat.Attachment{a})
	c.Reset()
	if _, err := f.att.DownloadURL(ctx, user(u[1]), string(g.ConversationID), a.UploadID); err != nil {
		t.Fatal(err)
	}
	check(t, "download URL", c.Snapshot(), map[string]int{"DynamoDB.BatchGetItem": 2, "S3.GetObject": 1})
}

func check(t *testing.T, name string, s awsclient.Snapshot, want map[string]int) {
	t.Helper()
	t.Logf("%s: %s", name, s)
	for op, n := range s.Requests {
		if n != want[op] {
			t.Errorf("%s: %d %s, want %d", name, n, op, want[op])
		}
	}
	for op, n := range want {
		if s.Requests[op] != n {
			t.Errorf("%s: %d %s, want %d", name, s.Requests[op], op, n)
		}
	}
}
