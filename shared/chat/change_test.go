package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// hookStore runs a hook before each ChangeMessage: to make it fail, as if
// the function died right after appending the change's event, or to race
// another change against it.
type hookStore struct {
	chat.Store
	mu     sync.Mutex
	before func(ch chat.MessageChange) error // runs once, then is cleared
}

func (h *hookStore) ChangeMessage(ctx context.Context, ch chat.MessageChange) (chat.Message, *chat.Message, error) {
	h.mu.Lock()
	hook := h.before
	h.before = nil
	h.mu.Unlock()
	if hook != nil {
		if err := hook(ch); err != nil {
			return chat.Message{}, nil, err
		}
	}
	return h.Store.ChangeMessage(ctx, ch)
}

func (h *hookStore) once(f func(ch chat.MessageChange) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.before = f
}

// clocked is a service over the fixture's store (or st) with a clock the
// test moves.
func (f *fixture) clocked(st chat.Store) (*chat.Service, *time.Time) {
	now := time.Now()
	clock := &now
	if st == nil {
		st = f.db.Chat
	}
	return chat.NewService(st, f.env.Cursors, chat.Config{}, chat.Options{Notifier: f.events, Now: func() time.Time { return *clock }}), clock
}

// syncAll pages through a sync and returns its messages.
func syncAll(t *testing.T, svc *chat.Service, p auth.Principal, since map[string]int64) []chat.Message {
	t.Helper()
	var all []chat.Message
	cursor := ""
	for i := 0; i < 100; i++ {
		page, err := svc.Sync(ctx, p, chat.SyncInput{Since: since, Cursor: cursor})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		all = append(all, page.Messages...)
		if cursor = page.NextCursor; cursor == "" {
			return all
		}
	}
	t.Fatal("sync did not end")
	return nil
}

// apply is what a client does with what it receives: messages are added,
// recall and edit events change its copy of the message they refer to
// (an edit only if it is newer than the edit the copy already shows).
func apply(local map[int64]chat.Message, msgs []chat.Message) {
	for _, m := range msgs {
		switch m.Kind {
		case chat.KindMessage:
			local[m.Seq] = m
		case chat.KindRecall:
			o := local[m.RefSeq]
			o.Recalled, o.Text, o.Payload, o.EditedAt, o.EditSeq, o.RecallSeq = true, "", nil, nil, 0, m.Seq
			local[m.RefSeq] = o
		case chat.KindEdit:
			if o := local[m.RefSeq]; !o.Recalled && !m.Recalled && o.EditSeq < m.Seq {
				at := m.CreatedAt
				o.Text, o.EditedAt, o.EditSeq = m.Text, &at, m.Seq
				local[m.RefSeq] = o
			}
		}
	}
}

// events returns the event messages of a conversation's history by kind.
func eventsOf(msgs []chat.Message, kind string, ref int64) []chat.Message {
	var out []chat.Message
	for _, m := range msgs {
		if m.Kind == kind && (ref == 0 || m.RefSeq == ref) {
			out = append(out, m)
		}
	}
	return out
}

func lastSeq(t *testing.T, svc *chat.Service, p auth.Principal, conv chat.ConversationID) int64 {
	t.Helper()
	c, err := svc.GetConversation(ctx, p, string(conv), "")
	if err != nil {
		t.Fatal(err)
	}
	return c.LastSeq
}

// TestOfflineClientSyncsRecallAndEdit: a client that had messages 1..5
// and was offline while 3 was recalled and 4 edited learns both from a
// sync from seq 5: two event messages, seqs 6 and 7, in order, no gap.
func TestOfflineClientSyncsRecallAndEdit(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "off", 2)
	a, b := u[0], u[1]
	dm := chat.DMID(a, b)
	for i := 1; i <= 5; i++ {
		from, to := a, b
		if i%2 == 0 {
			from, to = b, a
		}
		f.send(t, user(from), chat.SendInput{ToUser: to, Text: fmt.Sprint("message ", i)})
	}
	first := syncAll(t, f.svc, user(b), nil)
	checkGapless(t, first, 5)
	local := map[int64]chat.Message{}
	apply(local, first)
	if _, err := f.svc.MarkRead(ctx, user(b), string(dm), 5, ""); err != nil {
		t.Fatal(err)
	}

	// b is offline: a recalls message 3 (a's), b's other device edits 4.
	recalled, err := f.svc.Recall(ctx, user(a), string(dm), 3)
	if err != nil || !recalled.Recalled || recalled.RecallSeq != 6 {
		t.Fatalf("recall: %+v %v", recalled, err)
	}
	edited, err := f.svc.Edit(ctx, user(b), string(dm), 4, "message 4, edited")
	if err != nil || edited.Text != "message 4, edited" || edited.EditSeq != 7 || edited.EditedAt == nil {
		t.Fatalf("edit: %+v %v", edited, err)
	}

	got := syncAll(t, f.svc, user(b), map[string]int64{string(dm): 5})
	if len(got) != 2 {
		t.Fatalf("sync from 5 returned %d messages, want the 2 events: %+v", len(got), got)
	}
	rec, ed := got[0], got[1]
	if rec.Seq != 6 || rec.Kind != chat.KindRecall || rec.RefSeq != 3 || rec.SenderID != a || rec.Text != "" {
		t.Fatalf("recall event: %+v", rec)
	}
	if ed.Seq != 7 || ed.Kind != chat.KindEdit || ed.RefSeq != 4 || ed.SenderID != b || ed.Text != "message 4, edited" {
		t.Fatalf("edit event: %+v", ed)
	}

	// History shows the same as the client's copy after applying them.
	all := history(t, f, user(b), dm)
	checkGapless(t, all, 7)
	apply(local, got)
	for seq := int64(1); seq <= 5; seq++ {
		h, l := all[seq-1], local[seq]
		if h.Text != l.Text || h.Recalled != l.Recalled || h.EditSeq != l.EditSeq || h.RecallSeq != l.RecallSeq ||
			(h.EditedAt == nil) != (l.EditedAt == nil) || (h.EditedAt != nil && !h.EditedAt.Equal(*l.EditedAt)) {
			t.Fatalf("seq %d: history %+v, client copy %+v", seq, h, l)
		}
	}
	if m := all[2]; !m.Recalled || m.Text != "" || m.RecalledBy != a || m.Kind != chat.KindMessage {
		t.Fatalf("message 3 in history: %+v", m)
	}
	if m := all[3]; m.Text != "message 4, edited" || m.EditedAt == nil || !m.EditedAt.Equal(ed.CreatedAt) {
		t.Fatalf("message 4 in history: %+v", m)
	}
	if all[5].MessageID != rec.MessageID || all[6].MessageID != ed.MessageID {
		t.Fatal("history and sync disagree on the events")
	}

	// The list shows the edit event as the last message, without text;
	// events are not unread messages.
	c, err := f.svc.GetConversation(ctx, user(b), string(dm), "")
	if err != nil || c.LastSeq != 7 || c.LastMessage.Kind != chat.KindEdit || c.LastMessage.Preview != "" || *c.UnreadCount != 0 {
		t.Fatalf("conversation: %+v %+v %v", c, c.LastMessage, err)
	}

	// Pushes carry the changed message and the event's seq.
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	var changes []chat.Event
	for _, e := range f.events.events {
		if e.Type == chat.EventMessageRecalled || e.Type == chat.EventMessageEdited {
			changes = append(changes, e)
		}
	}
	if len(changes) != 2 || changes[0].Seq != 3 || changes[0].EventSeq != 6 || changes[0].EventMessage.Kind != chat.KindRecall ||
		!changes[0].Message.Recalled || changes[1].Seq != 4 || changes[1].EventSeq != 7 || changes[1].EventMessage.Text != "message 4, edited" {
		t.Fatalf("change events: %+v", changes)
	}
}

// TestChangesAreIdempotent: a repeated recall or a retried edit appends
// one event, however often and however concurrently.
func TestChangesAreIdempotent(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "idch", 3)
	owner, alice, bob := u[0], u[1], u[2]
	g := f.group(t, owner, alice, bob)
	conv := string(g.ConversationID)
	for i := 0; i < 4; i++ {
		f.send(t, user(alice), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("m", i+1)})
	}
	run := func(n int, do func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = do(i) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	// Recall 1 twice in a row, then 2 by sender, owner and admin token at once.
	for i := 0; i < 2; i++ {
		if m, err := f.svc.Recall(ctx, user(alice), conv, 1); err != nil || !m.Recalled || m.RecallSeq != 5 {
			t.Fatalf("recall %d: %+v %v", i, m, err)
		}
	}
	who := []auth.Principal{user(alice), user(owner), admin(), user(alice), user(owner), admin()}
	run(len(who), func(i int) error { _, err := f.svc.Recall(ctx, who[i], conv, 2); return err })

	// Edit 3 retried in a row, then 4 retried concurrently.
	for i := 0; i < 3; i++ {
		if m, err := f.svc.Edit(ctx, user(alice), conv, 3, "three"); err != nil || m.Text != "three" {
			t.Fatalf("edit %d: %+v %v", i, m, err)
		}
	}
	run(6, func(int) error { _, err := f.svc.Edit(ctx, user(alice), conv, 4, "four"); return err })
	// An edit to the text it has changes nothing; editing back to an
	// earlier text is a new edit.
	if _, err := f.svc.Edit(ctx, user(alice), conv, 3, "three"); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"drei", "three"} {
		if _, err := f.svc.Edit(ctx, user(alice), conv, 3, text); err != nil {
			t.Fatal(err)
		}
	}

	all := history(t, f, user(bob), g.ConversationID)
	checkGapless(t, all, 4+2+1+1+2)
	for _, tc := range []struct {
		kind  string
		ref   int64
		texts []string // edit events' texts, in order
	}{
		{chat.KindRecall, 1, nil}, {chat.KindRecall, 2, nil},
		{chat.KindEdit, 3, []string{"three", "drei", "three"}}, {chat.KindEdit, 4, []string{"four"}},
	} {
		evs := eventsOf(all, tc.kind, tc.ref)
		texts := []string{}
		for _, e := range evs {
			if e.Text != "" {
				texts = append(texts, e.Text)
			}
		}
		want := max(len(tc.texts), 1)
		if len(evs) != want || (tc.texts != nil && fmt.Sprint(texts) != fmt.Sprint(tc.texts)) {
			t.Errorf("%s of %d: %d events %v, want %d %v", tc.kind, tc.ref, len(evs), texts, want, tc.texts)
		}
	}
	if all[1].RecallSeq != eventsOf(all, chat.KindRecall, 2)[0].Seq || all[2].Text != "three" || all[2].EditSeq != 10 {
		t.Fatalf("messages do not point at their events: %+v %+v", all[1], all[2])
	}
}

// TestRefusedChangesAppendNothing tries to break each recall and edit
// rule; every refusal leaves the conversation and the message as they
// were and pushes nothing. Moderators may recall at any time.
func TestRefusedChangesAppendNothing(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "ref", 5)
	owner, adm, alice, bob, outsider := u[0], u[1], u[2], u[3], u[4]
	svc, clock := f.clocked(nil)
	g, _, err := svc.CreateGroup(ctx, user(owner), chat.CreateGroupInput{Members: []string{adm, alice, bob}})
	if err != nil {
		t.Fatal(err)
	}
	role := chat.RoleAdmin
	if _, err := svc.UpdateMember(ctx, user(owner), g.GroupID, adm, chat.MemberUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	conv := string(g.ConversationID)
	for i := 0; i < 4; i++ { // 1..4 by alice
		if _, _, err := svc.Send(ctx, user(alice), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("m", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Edit(ctx, user(alice), conv, 1, "m1 edited"); err != nil { // 5: edit event
		t.Fatal(err)
	}
	if _, err := svc.Recall(ctx, user(alice), conv, 2); err != nil { // 6: recall event
		t.Fatal(err)
	}
	*clock = clock.Add(chat.DefaultRecallWindow + time.Second)
	const last = 6

	tests := []struct {
		name string
		p    auth.Principal
		do   func(p auth.Principal) error
		code apierror.Code
	}{
		{"sender recalls after the window", user(alice), recallOf(svc, conv, 3), apierror.RecallWindowClosed},
		{"other member recalls", user(bob), recallOf(svc, conv, 3), apierror.Forbidden},
		{"other member edits", user(bob), editOf(svc, conv, 3, "x"), apierror.Forbidden},
		{"owner edits a member's message", user(owner), editOf(svc, conv, 3, "x"), apierror.Forbidden},
		{"group admin edits a member's message", user(adm), editOf(svc, conv, 3, "x"), apierror.Forbidden},
		{"outsider recalls", user(outsider), recallOf(svc, conv, 3), apierror.NotFound},
		{"outsider edits", user(outsider), editOf(svc, conv, 3, "x"), apierror.NotFound},
		{"edit a recalled message", user(alice), editOf(svc, conv, 2, "x"), apierror.MessageRecalled},
		{"recall an edit event", admin(), recallOf(svc, conv, 5), apierror.ValidationFailed},
		{"edit a recall event", admin(), editOf(svc, conv, 6, "x"), apierror.ValidationFailed},
		{"recall beyond the last seq", user(owner), recallOf(svc, conv, last+1), apierror.SeqOutOfRange},
		{"edit seq 0", user(alice), editOf(svc, conv, 0, "x"), apierror.SeqOutOfRange},
		{"edit to empty", user(alice), editOf(svc, conv, 3, ""), apierror.ValidationFailed},
		{"edit too long", user(alice), editOf(svc, conv, 3, strings.Repeat("x", chat.MaxTextRunes+1)), apierror.MessageTooLarge},
		{"edit to invalid UTF-8", user(alice), editOf(svc, conv, 3, "\xff"), apierror.ValidationFailed},
	}
	before := asJSON(t, history(t, f, user(bob), g.ConversationID))
	pushed := len(f.events.types())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.do(tc.p), tc.code)
			if n := lastSeq(t, svc, user(bob), g.ConversationID); n != last {
				t.Fatalf("last_seq %d after a refused change, want %d", n, last)
			}
		})
	}
	if after := asJSON(t, history(t, f, user(bob), g.ConversationID)); after != before {
		t.Fatalf("refused changes changed history:\n%s\n%s", before, after)
	}
	if n := len(f.events.types()); n != pushed {
		t.Fatalf("refused changes pushed %d events", n-pushed)
	}

	// After the window: group admins, the owner and admin tokens may recall.
	for i, p := range []auth.Principal{user(adm), user(owner), admin()} {
		m, err := svc.Recall(ctx, p, conv, int64(3+i%2)) // 3, 4, then 3 again (already recalled)
		if err != nil || !m.Recalled {
			t.Fatalf("moderator recall %d: %+v %v", i, m, err)
		}
	}
	if n := lastSeq(t, svc, user(bob), g.ConversationID); n != last+2 {
		t.Fatalf("last_seq %d after two moderator recalls, want %d", n, last+2)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func recallOf(svc *chat.Service, conv string, seq int64) func(auth.Principal) error {
	return func(p auth.Principal) error { _, err := svc.Recall(ctx, p, conv, seq); return err }
}

func editOf(svc *chat.Service, conv string, seq int64, text string) func(auth.Principal) error {
	return func(p auth.Principal) error { _, err := svc.Edit(ctx, p, conv, seq, text); return err }
}

// TestSendsAndChangesAreGapless: concurrent sends interleaved with
// recalls and edits still give seqs 1..N without gap or duplicate, and
// every change has exactly one event.
func TestSendsAndChangesAreGapless(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "gapch", 3)
	g := f.group(t, u[0], u[1], u[2])
	conv := string(g.ConversationID)
	const pre, sends, changes = 10, 40, 10
	for i := 0; i < pre; i++ { // 1..10, by u[1]
		f.send(t, user(u[1]), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("pre", i)})
	}
	var wg sync.WaitGroup
	errs := make(chan error, sends+changes)
	for i := 0; i < sends+changes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch {
			case i >= sends && i%2 == 0:
				_, err = f.svc.Recall(ctx, user(u[1]), conv, int64(i-sends+1))
			case i >= sends:
				_, err = f.svc.Edit(ctx, user(u[1]), conv, int64(i-sends+1), fmt.Sprint("edited ", i))
			default:
				_, _, err = f.svc.Send(ctx, user(u[i%3]), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("m", i)})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all := history(t, f, user(u[2]), g.ConversationID)
	checkGapless(t, all, pre+sends+changes)
	checkCounts(t, all)
	if lastSeq(t, f.svc, user(u[2]), g.ConversationID) != pre+sends+changes {
		t.Fatal("head behind the stored messages")
	}
	for seq := int64(1); seq <= changes; seq++ {
		m := all[seq-1]
		kind, points := chat.KindEdit, m.EditSeq
		if m.Recalled {
			kind, points = chat.KindRecall, m.RecallSeq
		}
		if evs := eventsOf(all, kind, seq); len(evs) != 1 || evs[0].Seq != points ||
			len(eventsOf(all, chat.KindRecall, seq))+len(eventsOf(all, chat.KindEdit, seq)) != 1 {
			t.Fatalf("message %d (%+v): events %+v", seq, m, evs)
		}
	}
}

// TestConcurrentEditsConverge: the message ends with the text of its
// highest edit event, the one every client applies last.
func TestConcurrentEditsConverge(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "conv", 2)
	dm := chat.DMID(u[0], u[1])
	f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: "v0"})
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.Edit(ctx, user(u[0]), string(dm), 1, fmt.Sprintf("v%d.%d", round, i)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		all := history(t, f, user(u[1]), dm)
		edits := eventsOf(all, chat.KindEdit, 1)
		if len(edits) != 4*(round+1) {
			t.Fatalf("round %d: %d edit events, want %d", round, len(edits), 4*(round+1))
		}
		lastEdit := edits[len(edits)-1]
		if m := all[0]; m.Text != lastEdit.Text || m.EditSeq != lastEdit.Seq {
			t.Fatalf("round %d: message %q (edit_seq %d), last edit event %q at %d", round, m.Text, m.EditSeq, lastEdit.Text, lastEdit.Seq)
		}
		local := map[int64]chat.Message{}
		apply(local, all)
		if local[1].Text != all[0].Text {
			t.Fatalf("round %d: a client applying the events ends with %q, history says %q", round, local[1].Text, all[0].Text)
		}
	}

	// Deterministically: a later edit completes between an earlier edit's
	// event and its change; the earlier one must not overwrite it.
	hs := &hookStore{Store: f.db.Chat}
	svc, _ := f.clocked(hs)
	hs.once(func(chat.MessageChange) error {
		_, err := svc.Edit(ctx, user(u[0]), string(dm), 1, "later")
		return err
	})
	m, err := svc.Edit(ctx, user(u[0]), string(dm), 1, "earlier")
	all := history(t, f, user(u[1]), dm)
	n := len(all)
	if err != nil || m.Text != "later" || all[0].Text != "later" || all[0].EditSeq != int64(n) || all[n-2].Text != "earlier" {
		t.Fatalf("earlier edit applied over a later one: %+v %v; message %+v", m, err, all[0])
	}
}

// TestRecallErasesEditEvents: once a message is recalled its text is in
// no event either, including an edit that was in flight at the recall.
func TestRecallErasesEditEvents(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "erase", 2)
	hs := &hookStore{Store: f.db.Chat}
	svc, _ := f.clocked(hs)
	dm := chat.DMID(u[0], u[1])
	for i := 0; i < 2; i++ {
		if _, _, err := svc.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "secret"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"secret 2", "secret 3"} { // 3, 4
		if _, err := svc.Edit(ctx, user(u[0]), string(dm), 1, text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Recall(ctx, user(u[0]), string(dm), 1); err != nil { // 5
		t.Fatal(err)
	}
	// Message 2: the recall lands between the edit's event and its change.
	hs.once(func(chat.MessageChange) error {
		_, err := svc.Recall(ctx, user(u[0]), string(dm), 2)
		return err
	})
	_, err := svc.Edit(ctx, user(u[0]), string(dm), 2, "secret 4") // 6, then the recall 7
	wantCode(t, err, apierror.MessageRecalled)

	all := history(t, f, user(u[1]), dm)
	checkGapless(t, all, 7)
	for _, m := range all {
		if strings.Contains(m.Text, "secret") {
			t.Errorf("seq %d (%s of %d) still has %q", m.Seq, m.Kind, m.RefSeq, m.Text)
		}
		if m.Kind == chat.KindEdit && !m.Recalled {
			t.Errorf("edit event %d of a recalled message is not marked recalled", m.Seq)
		}
	}
	if kinds := fmt.Sprint(kindsOf(all)); kinds != "[message message edit edit recall edit recall]" {
		t.Fatalf("kinds %s", kinds)
	}
	if c, err := svc.GetConversation(ctx, user(u[1]), string(dm), ""); err != nil || c.LastMessage.Preview != "" || c.LastMessage.Kind != chat.KindRecall {
		t.Fatalf("preview: %+v %v", c.LastMessage, err)
	}
}

func kindsOf(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Kind
	}
	return out
}

// TestRetryCompletesAChange: a call that died after appending its event
// (before changing the message) is completed by its retry, with the same
// event - a recall even after its window has closed.
func TestRetryCompletesAChange(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "retry", 2)
	hs := &hookStore{Store: f.db.Chat}
	svc, clock := f.clocked(hs)
	dm := string(chat.DMID(u[0], u[1]))
	for i := 0; i < 2; i++ {
		if _, _, err := svc.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	died := errors.New("died")
	for _, tc := range []struct {
		name  string
		seq   int64
		do    func() (chat.Message, error)
		check func(m chat.Message) bool
	}{
		{"edit", 1, func() (chat.Message, error) { return svc.Edit(ctx, user(u[0]), dm, 1, "hello") },
			func(m chat.Message) bool { return m.Text == "hello" && m.EditSeq == 3 }},
		{"recall", 2, func() (chat.Message, error) { return svc.Recall(ctx, user(u[0]), dm, 2) },
			func(m chat.Message) bool { return m.Recalled && m.RecallSeq == 4 }},
	} {
		hs.once(func(chat.MessageChange) error { return died })
		if _, err := tc.do(); !errors.Is(err, died) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.name == "recall" {
			*clock = clock.Add(chat.DefaultRecallWindow + time.Second)
		}
		m, err := tc.do()
		if err != nil || !tc.check(m) {
			t.Fatalf("%s retry: %+v %v", tc.name, m, err)
		}
	}
	all := history(t, f, user(u[1]), chat.DMID(u[0], u[1]))
	checkGapless(t, all, 4)
	if fmt.Sprint(kindsOf(all)) != "[message message edit recall]" {
		t.Fatalf("kinds %v", kindsOf(all))
	}
	// With no earlier attempt, the window holds.
	if _, _, err := svc.Send(ctx, user(u[0]), chat.SendInput{ToUser: u[1], Text: "late"}); err != nil {
		t.Fatal(err)
	}
	*clock = clock.Add(chat.DefaultRecallWindow + time.Second)
	_, err := svc.Recall(ctx, user(u[0]), dm, 5)
	wantCode(t, err, apierror.RecallWindowClosed)
}

// TestUnreadCountsOnlyMessages: unread_count leaves recall and edit events
// out, exactly, wherever the read position is - on a message, on an event,
// at a new member's join - and wherever it is reported.
func TestUnreadCountsOnlyMessages(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "unr", 8)
	owner, readers := u[0], u[1:7]
	g := f.group(t, owner, readers...)
	conv := string(g.ConversationID)
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ { // 12 messages, then 12 more racing 6 changes of the first ones
		if i == 12 {
			for j := int64(1); j <= 6; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if j%2 == 0 {
						_, err = f.svc.Recall(ctx, user(owner), conv, j)
					} else {
						_, err = f.svc.Edit(ctx, user(owner), conv, j, fmt.Sprint("edited ", j))
					}
					if err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.svc.Send(ctx, user(owner), chat.SendInput{ToGroup: g.GroupID, Text: fmt.Sprint("m", i)}); err != nil {
				t.Error(err)
			}
		}()
		if i < 12 {
			wg.Wait() // 1..12 are messages, in order
		}
	}
	wg.Wait()
	all := history(t, f, user(owner), g.ConversationID)
	checkGapless(t, all, 30)
	checkCounts(t, all)
	messagesAfter := func(seq int64) int64 {
		var n int64
		for _, m := range all[seq:] {
			if m.Kind == chat.KindMessage {
				n++
			}
		}
		return n
	}
	var onEvent, onMessage int64 // read positions on an event and on a message after it
	for _, m := range all[12:] {
		if m.Kind != chat.KindMessage && onEvent == 0 {
			onEvent = m.Seq
		}
		if m.Kind == chat.KindMessage && onEvent != 0 && onMessage == 0 {
			onMessage = m.Seq
		}
	}
	positions := []int64{0, 5, 12, onEvent, onMessage, 30}
	for i, seq := range positions {
		st, err := f.svc.MarkRead(ctx, user(readers[i]), conv, seq, "")
		if err != nil || st.UnreadCount != messagesAfter(seq) {
			t.Fatalf("read at %d: %+v %v, want %d unread", seq, st, err, messagesAfter(seq))
		}
		c, err := f.svc.GetConversation(ctx, user(readers[i]), conv, "")
		if err != nil || *c.UnreadCount != messagesAfter(seq) {
			t.Fatalf("read at %d: conversation says %d unread, want %d (%v)", seq, *c.UnreadCount, messagesAfter(seq), err)
		}
		list, err := f.svc.ListConversations(ctx, user(readers[i]), "", 0, "")
		if err != nil || *list.Conversations[0].UnreadCount != messagesAfter(seq) {
			t.Fatalf("read at %d: list says %+v (%v)", seq, list.Conversations, err)
		}
	}
	// A member who joins now has nothing unread; a recall does not change
	// that, a message does.
	late := u[7]
	if _, err := f.svc.AddMembers(ctx, user(owner), g.GroupID, []string{late}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{0, 0, 1} {
		switch i {
		case 1:
			if _, err := f.svc.Recall(ctx, user(owner), conv, 7); err != nil {
				t.Fatal(err)
			}
		case 2:
			f.send(t, user(owner), chat.SendInput{ToGroup: g.GroupID, Text: "welcome"})
		}
		c, err := f.svc.GetConversation(ctx, user(late), conv, "")
		if err != nil || *c.UnreadCount != want {
			t.Fatalf("late member, step %d: %d unread, want %d (%v)", i, *c.UnreadCount, want, err)
		}
	}
}

// TestUnreadWithoutCounts: messages stored before counts existed have
// none; their conversation counts every seq, as before, and stays
// consistent as messages are added.
func TestUnreadWithoutCounts(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "legacy", 2)
	ref, _ := chat.ParseConversationID(string(chat.DMID(u[0], u[1])))
	if err := f.db.Chat.EnsureDMEntries(ctx, ref, time.Now()); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 3; seq++ { // written the old way: no count
		m := chat.Message{ConversationID: ref.ID, Seq: seq, MessageID: fmt.Sprint("legacy-", seq), SenderType: chat.SenderUser,
			SenderID: u[0], Text: "old", CreatedAt: time.Now()}
		if old, err := f.db.Chat.PutMessage(ctx, m); err != nil || old != nil {
			t.Fatal(old, err)
		}
		if err := f.db.Chat.AdvanceConversation(ctx, ref, m, "old"); err != nil {
			t.Fatal(err)
		}
	}
	f.send(t, user(u[0]), chat.SendInput{ToUser: u[1], Text: "new"})            // 4
	if _, err := f.svc.Recall(ctx, user(u[0]), string(ref.ID), 4); err != nil { // 5
		t.Fatal(err)
	}
	for _, tc := range []struct{ read, want int64 }{{0, 5}, {2, 3}, {5, 0}} {
		st, err := f.svc.MarkRead(ctx, user(u[1]), string(ref.ID), tc.read, "")
		if err != nil || st.UnreadCount != tc.want {
			t.Fatalf("read at %d: %+v %v, want %d", tc.read, st, err, tc.want)
		}
	}
}

// faultStore fails the writes its predicates pick, as if the function
// died just before them.
type faultStore struct {
	chat.Store
	failPut, failAdvance func(m chat.Message) bool
}

var errDied = errors.New("died")

func (f *faultStore) PutMessage(ctx context.Context, m chat.Message) (*chat.Message, error) {
	if f.failPut != nil && f.failPut(m) {
		return nil, errDied
	}
	return f.Store.PutMessage(ctx, m)
}

func (f *faultStore) AdvanceConversation(ctx context.Context, ref chat.ConvRef, m chat.Message, preview string) error {
	if f.failAdvance != nil && f.failAdvance(m) {
		return errDied
	}
	return f.Store.AdvanceConversation(ctx, ref, m, preview)
}

// TestCountAfterATakeover: a retry that takes over a claim moved past a
// head left behind still gives its message the right count.
func TestCountAfterATakeover(t *testing.T) {
	f := newFixture(t, chat.Config{})
	u := f.newUsers(t, "take", 2)
	fs := &faultStore{Store: f.db.Chat}
	svc, _ := f.clocked(fs)
	a, b := u[0], u[1]
	for i := 0; i < 4; i++ {
		if _, _, err := svc.Send(ctx, user(a), chat.SendInput{ToUser: b, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// b's message 5 is stored, but its head update fails: it stays at 4.
	// The send still succeeds (the message is stored; the backstop
	// finishes the head).
	fs.failAdvance = func(m chat.Message) bool { return m.Text == "b5" }
	if _, _, err := svc.Send(ctx, user(b), chat.SendInput{ToUser: a, Text: "b5"}); err != nil {
		t.Fatal(err)
	}
	// a claims 5, finds it taken, moves its claim to 6 and dies there.
	fs.failPut = func(m chat.Message) bool { return m.Text == "a6" && m.Seq == 6 }
	in := chat.SendInput{ToUser: b, Text: "a6", ClientMsgID: "k"}
	if _, _, err := svc.Send(ctx, user(a), in); !errors.Is(err, errDied) {
		t.Fatal(err)
	}
	fs.failPut, fs.failAdvance = nil, nil
	m, created, err := svc.Send(ctx, user(a), in) // head 4, claim at 6
	if err != nil || !created || m.Seq != 6 || m.Count != 6 {
		t.Fatalf("retry: %+v %v %v", m, created, err)
	}
	all := history(t, f, user(b), chat.DMID(a, b))
	checkGapless(t, all, 6)
	checkCounts(t, all)
	if c, err := svc.GetConversation(ctx, user(b), string(chat.DMID(a, b)), ""); err != nil || c.LastSeq != 6 || *c.UnreadCount != 6 {
		t.Fatalf("conversation: %+v %v", c, err)
	}
}
