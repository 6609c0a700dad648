package chat_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// quoteOf returns the quote of the message at seq in msgs (nil if none).
func quoteAt(t *testing.T, msgs []chat.Message, seq int64) *chat.Quote {
	t.Helper()
	for _, m := range msgs {
		if m.Seq == seq {
			return m.Quote
		}
	}
	t.Fatalf("no message at seq %d", seq)
	return nil
}

// TestReplyQuotesTheMessageAsItStands: a reply carries a preview of the
// quoted message in its ack, in history and in sync; after the quoted
// message is edited the preview shows the new text, and after it is
// recalled the preview says so and shows nothing of it.
func TestReplyQuotesTheMessageAsItStands(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rq", 2)
	a, b := u[0], u[1]
	conv := chat.DMID(a, b)
	f.send(t, user(a), chat.SendInput{ToUser: b, Text: "lunch at noon?"})
	f.send(t, user(a), chat.SendInput{ToUser: b, Payload: &chat.Payload{Type: "image"}})
	r := f.send(t, user(b), chat.SendInput{ToUser: a, Text: "yes", ReplyTo: 1})
	if r.ReplyTo != 1 || r.Quote == nil || r.Quote.Preview != "lunch at noon?" || r.Quote.SenderID != a || r.Quote.Recalled {
		t.Fatalf("ack: %+v quote %+v", r, r.Quote)
	}
	f.send(t, user(b), chat.SendInput{ToUser: a, Text: "nice", ReplyTo: 2})
	if q := quoteAt(t, history(t, f, user(a), conv), 4); q == nil || q.PayloadType != "image" || q.Preview != "" {
		t.Fatalf("quote of a payload: %+v", q)
	}
	// A page that does not hold the quoted message still quotes it.
	page, err := f.svc.History(ctx, user(a), string(conv), chat.HistoryQuery{Limit: 1, Before: new(int64(4))})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Quote == nil || page.Messages[0].Quote.Preview != "lunch at noon?" {
		t.Fatalf("history page of the reply alone: %+v %v", page, err)
	}
	if _, err := f.svc.Edit(ctx, user(a), string(conv), 1, "lunch at one?"); err != nil {
		t.Fatal(err)
	}
	if q := quoteAt(t, history(t, f, user(b), conv), 3); q.Preview != "lunch at one?" {
		t.Fatalf("after an edit: %+v", q)
	}
	if _, err := f.svc.Recall(ctx, user(a), string(conv), 1); err != nil {
		t.Fatal(err)
	}
	for name, msgs := range map[string][]chat.Message{
		"history": history(t, f, user(b), conv),
		"sync":    syncAll(t, f.svc, user(b), nil),
	} {
		q := quoteAt(t, msgs, 3)
		if q == nil || !q.Recalled || q.Preview != "" || q.Seq != 1 {
			t.Errorf("%s after the recall: quote %+v", name, q)
		}
	}
}

// TestBadRepliesWriteNothing: every bad reply_to or thread_root is refused
// with its documented code, and nothing is stored.
func TestBadRepliesWriteNothing(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "rb", 3)
	a, b, c := u[0], u[1], u[2]
	conv := chat.DMID(a, b)
	f.send(t, user(a), chat.SendInput{ToUser: b, Text: "root"})                     // 1
	f.send(t, user(a), chat.SendInput{ToUser: b, Text: "in thread", ThreadRoot: 1}) // 2
	f.send(t, user(a), chat.SendInput{ToUser: b, Text: "to recall"})                // 3
	if _, err := f.svc.Recall(ctx, user(a), string(conv), 3); err != nil {          // 4: recall event
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   chat.SendInput
		want apierror.Code
	}{
		{"reply to a seq that does not exist", chat.SendInput{ToUser: b, Text: "x", ReplyTo: 99}, apierror.SeqOutOfRange},
		{"reply to a negative seq", chat.SendInput{ToUser: b, Text: "x", ReplyTo: -1}, apierror.SeqOutOfRange},
		{"reply to a recall event", chat.SendInput{ToUser: b, Text: "x", ReplyTo: 4}, apierror.ValidationFailed},
		{"reply to a recalled message", chat.SendInput{ToUser: b, Text: "x", ReplyTo: 3}, apierror.MessageRecalled},
		{"thread under a seq that does not exist", chat.SendInput{ToUser: b, Text: "x", ThreadRoot: 5}, apierror.SeqOutOfRange},
		{"thread under a thread reply", chat.SendInput{ToUser: b, Text: "x", ThreadRoot: 2}, apierror.ValidationFailed},
		{"thread under a recalled message", chat.SendInput{ToUser: b, Text: "x", ThreadRoot: 3}, apierror.MessageRecalled},
		{"thread under an event", chat.SendInput{ToUser: b, Text: "x", ThreadRoot: 4}, apierror.ValidationFailed},
		{"good reply_to, bad thread_root", chat.SendInput{ToUser: b, Text: "x", ReplyTo: 1, ThreadRoot: 9}, apierror.SeqOutOfRange},
	}
	for _, tc := range tests {
		tc.in.ClientMsgID = "k-" + fmt.Sprint(len(tc.name))
		_, _, err := f.svc.Send(ctx, user(a), tc.in)
		if apierror.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if got := history(t, f, user(a), conv); len(got) != 4 {
		t.Fatalf("%d messages after refused sends, want 4", len(got))
	}
	// The first message of a DM can quote nothing: no entries are made.
	_, _, err := f.svc.Send(ctx, user(a), chat.SendInput{ToUser: c, Text: "x", ReplyTo: 1})
	wantCode(t, err, apierror.SeqOutOfRange)
	if list, err := f.svc.ListConversations(ctx, user(c), "", 0, ""); err != nil || len(list.Conversations) != 0 {
		t.Fatalf("c's conversations: %+v %v", list, err)
	}
	// A refused send leaves its client_msg_id free: the same key with a
	// good reply is a new message, not idempotency_key_reused.
	in := chat.SendInput{ToUser: b, Text: "x", ReplyTo: 1, ClientMsgID: "k-" + fmt.Sprint(len(tests[0].name))}
	if _, created, err := f.svc.Send(ctx, user(a), in); err != nil || !created {
		t.Fatalf("good reply after a refused one: %v %v", created, err)
	}
}

// threadAll pages through a thread with pages of limit.
func threadAll(t *testing.T, svc *chat.Service, p chat.ConversationID, who string, root int64, limit int) (chat.Message, []chat.Message) {
	t.Helper()
	var all []chat.Message
	q := chat.ThreadQuery{Limit: limit}
	for i := 0; i < 100; i++ {
		page, err := svc.Thread(ctx, user(who), string(p), root, q)
		if err != nil {
			t.Fatalf("thread: %v", err)
		}
		all = append(all, page.Messages...)
		if page.NextCursor == "" {
			return page.Root, all
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("thread did not end")
	return chat.Message{}, nil
}

// TestConcurrentThreadReplies: 20 replies to one thread at once, some
// retried, give the root a reply count of 20, seqs 1..21 without a gap,
// and a thread listing of the 20 in seq order.
func TestConcurrentThreadReplies(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "thr", 5)
	g := f.group(t, u[0], u[1:]...)
	conv := chat.GroupConversationID(g.GroupID)
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "root"})
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			in := chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("r", i), ThreadRoot: 1, ClientMsgID: fmt.Sprint("c", i)}
			if _, _, errs[i] = f.svc.Send(ctx, user(u[i%5]), in); errs[i] == nil && i%4 == 0 {
				_, _, errs[i] = f.svc.Send(ctx, user(u[i%5]), in) // a retry counts once
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all := history(t, f, user(u[1]), conv)
	checkGapless(t, all, n+1)
	root, replies := threadAll(t, f.svc, conv, u[2], 1, 7)
	if root.Thread == nil || root.Thread.ReplyCount != n || root.Thread.LastReplySeq != n+1 || !root.Thread.LastReplyAt.Equal(all[n].CreatedAt) {
		t.Fatalf("root thread %+v, want %d replies, last %d at %v", root.Thread, n, n+1, all[n].CreatedAt)
	}
	if len(replies) != n {
		t.Fatalf("thread lists %d replies, want %d", len(replies), n)
	}
	for i, m := range replies {
		if m.Seq != int64(i+2) || m.ThreadRoot != 1 {
			t.Fatalf("reply %d: seq %d root %d", i, m.Seq, m.ThreadRoot)
		}
	}
	if h := all[0]; h.Thread == nil || h.Thread.ReplyCount != n {
		t.Fatalf("history's root: %+v", h.Thread)
	}
}

// TestThreadListingRefuses: a thread of a message inside a thread, of a
// seq past the last, or by a non-member is refused.
func TestThreadListingRefuses(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "thl", 3)
	g := f.group(t, u[0], u[1])
	conv := string(chat.GroupConversationID(g.GroupID))
	f.send(t, user(u[0]), chat.SendInput{ToGroup: g.GroupID, Text: "root"})
	f.send(t, user(u[1]), chat.SendInput{ToGroup: g.GroupID, Text: "r", ThreadRoot: 1})
	tests := []struct {
		name string
		who  string
		seq  int64
		want apierror.Code
	}{
		{"a reply is no root", u[0], 2, apierror.ValidationFailed},
		{"past the last seq", u[0], 3, apierror.SeqOutOfRange},
		{"seq 0", u[0], 0, apierror.SeqOutOfRange},
		{"a non-member", u[2], 1, apierror.NotFound},
	}
	for _, tc := range tests {
		_, err := f.svc.Thread(ctx, user(tc.who), conv, tc.seq, chat.ThreadQuery{})
		if apierror.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if root, replies := threadAll(t, f.svc, chat.ConversationID(conv), u[1], 1, 0); len(replies) != 1 || root.Thread.ReplyCount != 1 {
		t.Fatalf("thread: %+v %+v", root, replies)
	}
}

// threadFaults fails RecordThreadReply while fail is set, as if the
// sender's invocation died right after storing its reply.
type threadFaults struct {
	chat.Store
	mu   sync.Mutex
	fail bool
}

func (s *threadFaults) RecordThreadReply(ctx context.Context, conv chat.ConversationID, root int64, m chat.Message) (chat.Thread, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return chat.Thread{}, errDied
	}
	return s.Store.RecordThreadReply(ctx, conv, root, m)
}

// TestBackstopRecordsAThreadReply: a thread reply whose sender died
// before recording it under its root is still counted once - by the
// backstop, whether its head was left behind (it then pushes and reveals
// it too) or a later message carried the head past it.
func TestBackstopRecordsAThreadReply(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "thb", 2)
	a, b := u[0], u[1]
	conv := chat.DMID(a, b)
	fs := &threadFaults{Store: f.db.Chat}
	svc, clock := f.clocked(fs)
	f.send(t, user(a), chat.SendInput{ToUser: b, Text: "root"})
	fs.fail = true
	r2, _, err := svc.Send(ctx, user(b), chat.SendInput{ToUser: a, Text: "r2", ThreadRoot: 1})
	if err != nil {
		t.Fatalf("a stored reply succeeds: %v", err)
	}
	if got := lastSeq(t, svc, user(a), conv); got != 1 {
		t.Fatalf("head %d: the reply is not revealed before its root counts it", got)
	}
	r3, _, err := svc.Send(ctx, user(b), chat.SendInput{ToUser: a, Text: "r3", ThreadRoot: 1})
	if err != nil {
		t.Fatal(err)
	}
	fs.fail = false
	f.send(t, user(a), chat.SendInput{ToUser: b, Text: "later"}) // carries the head past both
	*clock = clock.Add(time.Minute)
	res, err := svc.CheckStored(ctx, []chat.Message{r2, r3}, time.Second)
	if err != nil || res.Delivered != 2 {
		t.Fatalf("backstop: %+v %v", res, err)
	}
	root, replies := threadAll(t, svc, conv, a, 1, 0)
	if root.Thread == nil || root.Thread.ReplyCount != 2 || len(replies) != 2 {
		t.Fatalf("root %+v, %d replies, want 2", root.Thread, len(replies))
	}
	// Again: nothing counts twice.
	if _, err := svc.CheckStored(ctx, []chat.Message{r2, r3}, time.Second); err != nil {
		t.Fatal(err)
	}
	if root, _ := threadAll(t, svc, conv, a, 1, 0); root.Thread.ReplyCount != 2 {
		t.Fatalf("after a second pass: %+v", root.Thread)
	}
}
