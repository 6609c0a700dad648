package chat_test

import (
	"fmt"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestInterruptedGroupCreateIsFinishedByItsRetry: a create with more
// members than one transaction holds (the head and 48 members) writes the
// rest afterwards. When those writes fail, the group exists with its
// first members, marked incomplete; the same request again - with the same
// group_id and body, with or without an Idempotency-Key - adds the rest
// instead of answering group_exists. Another body is still group_exists,
// and once complete, a repeat without a key is group_exists too.
func TestInterruptedGroupCreateIsFinishedByItsRetry(t *testing.T) {
	testenv.NeedAWS(t)
	for _, key := range []string{"", "idem-partial"} {
		t.Run(fmt.Sprintf("key=%q", key), func(t *testing.T) {
			f := newFixture(t, chat.Config{})
			cfg := f.env.Cfg.Copy()
			// The first transaction (head + 48 members) goes through; every
			// attempt of the next one fails, so the SDK gives up.
			faults, err := awsclient.InjectFaults(&cfg, awsclient.Fault{Service: "DynamoDB", Operation: "TransactWriteItems",
				Action: awsclient.FaultError, Skip: 1, Times: 4})
			if err != nil {
				t.Fatal(err)
			}
			faulty := chat.NewService(f.env.DB(cfg).Chat, f.env.Cursors, chat.Config{}, chat.Options{})
			u := f.newUsers(t, "gpart", 71)
			in := chat.CreateGroupInput{GroupID: testenv.ID("gpart"), Name: "big", Members: u[1:], IdempotencyKey: key}
			if _, _, err := faulty.CreateGroup(ctx, user(u[0]), in); err == nil {
				t.Fatal("the create succeeded although its second transaction failed")
			}
			if n := faults.Hits("DynamoDB.TransactWriteItems"); n != 4 {
				t.Fatalf("%d injected failures, want 4 (one call, all its attempts)", n)
			}
			g, err := f.svc.GetGroup(ctx, user(u[0]), in.GroupID)
			if err != nil || g.MemberCount != 49 {
				t.Fatalf("after the interrupted create: %+v, %v; want the owner and 48 members", g, err)
			}

			other := in
			other.Name = "another body"
			if _, _, err := f.svc.CreateGroup(ctx, user(u[0]), other); err == nil {
				t.Fatal("a different request finished the interrupted group")
			} else if key == "" {
				wantCode(t, err, apierror.GroupExists)
			} else {
				wantCode(t, err, apierror.IdempotencyKeyReused)
			}

			g, created, err := f.svc.CreateGroup(ctx, user(u[0]), in)
			if err != nil || created {
				t.Fatalf("retry = created %v, %v; want the group, not created", created, err)
			}
			if g.MemberCount != 71 {
				t.Fatalf("after the retry: %d members, want 71", g.MemberCount)
			}
			for _, id := range u {
				if _, err := f.svc.GetGroup(ctx, user(id), in.GroupID); err != nil {
					t.Fatalf("member %s cannot read the group: %v", id, err)
				}
			}
			_, created, err = f.svc.CreateGroup(ctx, user(u[0]), in)
			if key == "" {
				wantCode(t, err, apierror.GroupExists) // complete: a plain repeat is group_exists again
			} else if err != nil || created {
				t.Fatalf("keyed repeat = %v, %v", created, err)
			}
		})
	}
}
