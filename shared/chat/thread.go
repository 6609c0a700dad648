package chat

// Replies and threads. A reply quotes an earlier message of the same
// conversation (ReplyTo); a thread reply (ThreadRoot) is listed under its
// root, which carries the thread's summary. Both are ordinary messages at
// the conversation's next seq, so sync and the gapless seqs are unchanged
// (docs/data-model.md, "Replies and threads").

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// refs is what a send quotes or threads under, as read before it is stored.
type refs struct {
	quoted *Message // ReplyTo's message
	root   *Message // ThreadRoot's message
}

// checkRefs validates a send's reply_to and thread_root against the
// conversation as last read (meta: nil for a DM without messages), reading
// both messages in one BatchGetItem. A plain send reads nothing here.
func (s *Service) checkRefs(ctx context.Context, ref ConvRef, meta *ConvMeta, in SendInput) (refs, error) {
	if in.ReplyTo == 0 && in.ThreadRoot == 0 {
		return refs{}, nil
	}
	var last int64
	if meta != nil {
		last = meta.LastSeq
	}
	var seqs []int64
	for _, f := range []struct {
		name string
		seq  int64
	}{{"reply_to", in.ReplyTo}, {"thread_root", in.ThreadRoot}} {
		if f.seq == 0 {
			continue
		}
		if f.seq < 0 || f.seq > last {
			return refs{}, apierror.New(apierror.SeqOutOfRange, "%s must be a seq of this conversation, between 1 and %d.", f.name, last).
				WithDetails(map[string]any{"field": f.name, "last_seq": last})
		}
		seqs = append(seqs, f.seq)
	}
	got, err := s.store.GetMessages(ctx, ref.ID, seqs)
	if err != nil {
		return refs{}, err
	}
	var out refs
	if in.ReplyTo != 0 {
		m, err := refTarget(got, "reply_to", in.ReplyTo)
		if err != nil {
			return refs{}, err
		}
		out.quoted = m
	}
	if in.ThreadRoot != 0 {
		m, err := refTarget(got, "thread_root", in.ThreadRoot)
		if err != nil {
			return refs{}, err
		}
		if m.ThreadRoot != 0 {
			return refs{}, fieldErr("thread_root", "seq %d is itself a reply in the thread of seq %d: threads are one level deep, reply to its root.", m.Seq, m.ThreadRoot)
		}
		out.root = m
	}
	return out, nil
}

// refTarget is the message at seq, which must be a message (not a recall
// or edit event) that is not recalled.
func refTarget(got map[int64]Message, field string, seq int64) (*Message, error) {
	m, ok := got[seq]
	if !ok { // a seq at or below the head is stored: only a race gets here
		return nil, apierror.New(apierror.SeqOutOfRange, "%s: there is no message at seq %d.", field, seq).WithDetails(map[string]string{"field": field})
	}
	if m.Kind != KindMessage {
		return nil, fieldErr(field, "seq %d is a %s event, not a message.", seq, m.Kind)
	}
	if m.Recalled {
		return nil, apierror.New(apierror.MessageRecalled, "The message at seq %d (%s) was recalled.", seq, field).WithDetails(map[string]string{"field": field})
	}
	return &m, nil
}

// quoteOf is the quote of m as it stands: a recalled message shows only
// that it was recalled.
func quoteOf(m Message) *Quote {
	q := &Quote{Seq: m.Seq, MessageID: m.MessageID, SenderID: m.SenderID, Recalled: m.Recalled}
	if m.Recalled {
		return q
	}
	q.Preview = truncate(m.Text, maxPreviewRunes)
	if m.Payload != nil {
		q.PayloadType = m.Payload.Type
	}
	return q
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// maxQuote is the largest quote a message can carry, for the envelope check.
var maxQuote = &Quote{Seq: maxSeq, MessageID: strings.Repeat("m", 27), SenderID: strings.Repeat("u", 64),
	Preview: strings.Repeat("\U0001F600", maxPreviewRunes) + "…", PayloadType: strings.Repeat("p", 64), Recalled: true}

// withQuotes fills in the quote of every reply in msgs (all of conv) from
// the quoted messages as they stand: those in msgs, and the others read
// in one BatchGetItem (none when there is no reply, or every quoted
// message is in msgs). A recalled reply shows no quote.
func (s *Service) withQuotes(ctx context.Context, conv ConversationID, msgs []Message) error {
	have := make(map[int64]Message, len(msgs))
	for _, m := range msgs {
		have[m.Seq] = m
	}
	var missing []int64
	for _, m := range msgs {
		if _, ok := have[m.ReplyTo]; m.ReplyTo != 0 && !m.Recalled && !ok {
			missing = append(missing, m.ReplyTo)
		}
	}
	if len(missing) > 0 {
		got, err := s.store.GetMessages(ctx, conv, missing)
		if err != nil {
			return err
		}
		for seq, m := range got {
			have[seq] = m
		}
	}
	for i, m := range msgs {
		if q, ok := have[m.ReplyTo]; m.ReplyTo != 0 && !m.Recalled && ok {
			msgs[i].Quote = quoteOf(q)
		}
	}
	return nil
}

// recordThread indexes a thread reply under its root and updates the
// root's summary (a no-op for other messages). Exact under retries and
// concurrency: the store recounts the index (dynamo/threads.go).
func (s *Service) recordThread(ctx context.Context, m Message) error {
	if m.ThreadRoot == 0 || m.Kind != KindMessage {
		return nil
	}
	_, err := s.store.RecordThreadReply(ctx, m.ConversationID, m.ThreadRoot, m)
	return err
}

// ThreadQuery selects a page of a thread.
type ThreadQuery struct {
	Limit  int
	Cursor string
	AsUser string // admin tokens: read as this user (optional)
}

// threadCursor is the state of a thread listing: the last reply returned.
type threadCursor struct {
	After int64 `json:"a"`
}

// ThreadPage is one page of a thread: its root and replies, oldest first.
type ThreadPage struct {
	Root       Message   `json:"root"`
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Thread lists the replies in the thread of the message at root, oldest
// first, with the root (and its summary) on every page. A message nobody
// replied to in a thread has an empty one.
//
// Cost: one BatchGetItem (access), one Query of the thread's index, one
// BatchGetItem of the root and the page's replies, plus one BatchGetItem
// when replies quote messages outside the page.
func (s *Service) Thread(ctx context.Context, p auth.Principal, convID string, root int64, q ThreadQuery) (ThreadPage, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return ThreadPage{}, err
	}
	ref, err := ParseConversationID(convID)
	if err != nil {
		return ThreadPage{}, err
	}
	r, err := readerOf(p, q.AsUser)
	if err != nil {
		return ThreadPage{}, err
	}
	scope := "thread:" + string(ref.ID) + ":" + strconv.FormatInt(root, 10)
	var c threadCursor
	if q.Cursor != "" {
		if err := s.cursors.Decode(scope, q.Cursor, &c); err != nil {
			return ThreadPage{}, err
		}
	}
	v, err := s.readAccess(ctx, r, ref)
	if err != nil {
		return ThreadPage{}, err
	}
	if root < 1 || root > v.Meta.LastSeq {
		return ThreadPage{}, apierror.New(apierror.SeqOutOfRange, "seq must be between 1 and %d.", v.Meta.LastSeq).
			WithDetails(map[string]int64{"last_seq": v.Meta.LastSeq})
	}
	seqs, err := s.store.ThreadReplies(ctx, ref.ID, root, c.After, limit)
	if err != nil {
		return ThreadPage{}, err
	}
	got, err := s.store.GetMessages(ctx, ref.ID, append([]int64{root}, seqs...))
	if err != nil {
		return ThreadPage{}, err
	}
	rm, ok := got[root]
	if !ok {
		return ThreadPage{}, notFound("Message", root)
	}
	if rm.Kind != KindMessage || rm.ThreadRoot != 0 {
		return ThreadPage{}, fieldErr("seq", "seq %d is not a thread root: a thread starts at a message that is not itself in a thread.", root)
	}
	page := ThreadPage{Root: rm, Messages: make([]Message, 0, len(seqs))}
	for _, sq := range seqs {
		if m, ok := got[sq]; ok {
			page.Messages = append(page.Messages, m)
		}
	}
	all := append([]Message{page.Root}, page.Messages...)
	if err := s.withQuotes(ctx, ref.ID, all); err != nil {
		return ThreadPage{}, err
	}
	forReaderAll(all, r.id)
	page.Root, page.Messages = all[0], all[1:]
	if len(seqs) == limit {
		page.NextCursor, err = s.cursors.Encode(scope, threadCursor{After: seqs[len(seqs)-1]})
		if err != nil {
			return ThreadPage{}, err
		}
	}
	return page, nil
}
