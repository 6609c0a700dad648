package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestSendGuard: a guard sees the message after access is checked, may
// refuse it (nothing is written, not even a DM's entries) or rewrite it
// (the rewrite is stored), and a retry of a rewritten message is the same
// message, not idempotency_key_reused.
func TestSendGuard(t *testing.T) {
	var seen []chat.SendCheck
	guard := chat.Guards{chat.SendGuardFunc(func(_ context.Context, c chat.SendCheck) (chat.SendContent, error) {
		seen = append(seen, c)
		if strings.Contains(c.Content.Text, "refuse") {
			return chat.SendContent{}, apierror.New(apierror.Forbidden, "refused")
		}
		return c.Content, nil
	}), chat.SendGuardFunc(func(_ context.Context, c chat.SendCheck) (chat.SendContent, error) {
		c.Content.Text = strings.ReplaceAll(c.Content.Text, "darn", "****")
		return c.Content, nil
	})}
	f := newFixture(t, chat.Config{})
	f.svc = chat.NewService(f.db.Chat, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.events, Guard: guard})
	u := f.newUsers(t, "guard", 3)
	a, b, stranger := u[0], u[1], u[2]

	_, _, err := f.svc.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "please refuse"})
	wantCode(t, err, apierror.Forbidden)
	conv := chat.DMID(a, b)
	if list, err := f.svc.ListConversations(ctx, user(b), "", 10, ""); err != nil || len(list.Conversations) != 0 {
		t.Fatalf("a refused first DM left entries: %+v %v", list, err)
	}
	if got := len(seen); got != 1 || seen[0].Peer() != b || seen[0].SenderID != a {
		t.Fatalf("guard saw %+v", seen)
	}

	m := f.send(t, user(a), chat.SendInput{ToUser: b, Text: "darn it", ClientMsgID: "c1"})
	if m.Text != "**** it" {
		t.Fatalf("stored %q, want the rewrite", m.Text)
	}
	again, created, err := f.svc.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "darn it", ClientMsgID: "c1"})
	if err != nil || created || again.Seq != m.Seq {
		t.Fatalf("retry of a rewritten message: %+v created=%v %v", again, created, err)
	}
	if got := history(t, f, user(b), conv); len(got) != 1 || got[0].Text != "**** it" {
		t.Fatalf("history %+v", got)
	}

	// Access comes first: a stranger is not found, and the guard never runs.
	n := len(seen)
	_, _, err = f.svc.Send(ctx, user(stranger), chat.SendInput{ConversationID: string(conv), Text: "hi"})
	wantCode(t, err, apierror.NotFound)
	if len(seen) != n {
		t.Fatal("the guard ran for a sender without access")
	}
}
