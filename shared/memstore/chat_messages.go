package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
)

// Messages and client_msg_id claims, as shared/aws/dynamo/messages.go stores
// them: a message keeps only the fields the adapter writes, and a change
// (recall, edit, erase) sets and removes what the adapter's update does.

type msgRec struct {
	id, kind, cmid, senderType, sender, text string
	ptype, pdata, recalledBy, fp             string
	ref, n, editSeq, recallSeq               int64
	createdAt, editedAt, recalledAt          int64 // 0: absent
	replyTo, threadRoot                      int64
	threadN, threadLast, threadAt            int64 // a thread root's summary
	// Reactions (chat_reactions.go): counts by emoji, emojis by user. Never
	// changed in place: a change stores new maps, so copies stay apart.
	rc       map[string]int64
	ru       map[string][]string
	mentions []string
	att      []chat.Attachment
}

func toMsgRec(m chat.Message) msgRec {
	r := msgRec{id: m.MessageID, cmid: m.ClientMsgID, senderType: m.SenderType, sender: m.SenderID, text: m.Text,
		fp: m.Fingerprint, ref: m.RefSeq, n: m.Count, createdAt: ms(m.CreatedAt),
		replyTo: m.ReplyTo, threadRoot: m.ThreadRoot, mentions: slices.Clone(m.Mentions), att: slices.Clone(m.Attachments)}
	if m.Kind != chat.KindMessage {
		r.kind = m.Kind
	}
	if m.Payload != nil {
		r.ptype, r.pdata = m.Payload.Type, string(m.Payload.Data)
	}
	return r
}

func (r msgRec) message(conv chat.ConversationID, seq int64) chat.Message {
	m := chat.Message{ConversationID: conv, Seq: seq, MessageID: r.id, ClientMsgID: r.cmid, SenderType: r.senderType,
		SenderID: r.sender, Text: r.text, CreatedAt: fromMS(r.createdAt), RecalledBy: r.recalledBy, Fingerprint: r.fp,
		Kind: chat.KindMessage, RefSeq: r.ref, EditSeq: r.editSeq, RecallSeq: r.recallSeq, Count: r.n,
		ReplyTo: r.replyTo, ThreadRoot: r.threadRoot, Mentions: slices.Clone(r.mentions), Attachments: slices.Clone(r.att)}
	if r.threadN > 0 {
		m.Thread = &chat.Thread{ReplyCount: r.threadN, LastReplySeq: r.threadLast, LastReplyAt: fromMS(r.threadAt)}
	}
	r.reactionsTo(&m)
	if r.kind != "" {
		m.Kind = r.kind
	}
	if r.ptype != "" {
		m.Payload = &chat.Payload{Type: r.ptype}
		if r.pdata != "" {
			m.Payload.Data = json.RawMessage(r.pdata)
		}
	}
	if r.editedAt != 0 {
		t := fromMS(r.editedAt)
		m.EditedAt = &t
	}
	if r.recalledAt != 0 {
		t := fromMS(r.recalledAt)
		m.Recalled, m.RecalledAt = true, &t
	}
	return m
}

type claimRec struct {
	seq       int64
	msgID, fp string
	createdAt int64
}

func (r claimRec) claim(conv chat.ConversationID, key string) *chat.Claim {
	return &chat.Claim{ConversationID: conv, Key: key, Seq: r.seq, MessageID: r.msgID, CreatedAt: fromMS(r.createdAt), Fingerprint: r.fp}
}

// ClaimClientMsgID stores the claim unless its key is taken; it then
// returns the existing claim. Claims never expire.
func (c *Chat) ClaimClientMsgID(_ context.Context, cl chat.Claim) (*chat.Claim, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.claims[cl.ConversationID][cl.Key]; ok {
		return old.claim(cl.ConversationID, cl.Key), nil
	}
	if c.claims[cl.ConversationID] == nil {
		c.claims[cl.ConversationID] = map[string]claimRec{}
	}
	c.claims[cl.ConversationID][cl.Key] = claimRec{seq: cl.Seq, msgID: cl.MessageID, fp: cl.Fingerprint, createdAt: ms(cl.CreatedAt)}
	return nil, nil
}

// MoveClaim moves a claim from seq from to cl.Seq if it still says from and
// cl.MessageID; otherwise it returns the claim as it stands (an error if
// there is none).
func (c *Chat) MoveClaim(_ context.Context, cl chat.Claim, from int64) (*chat.Claim, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.claims[cl.ConversationID][cl.Key]
	if !ok {
		return nil, fmt.Errorf("memstore: move claim: claim vanished")
	}
	if old.seq != from || old.msgID != cl.MessageID {
		return old.claim(cl.ConversationID, cl.Key), nil
	}
	old.seq = cl.Seq
	c.claims[cl.ConversationID][cl.Key] = old
	return nil, nil
}

// PutMessage stores m at its seq unless the seq is taken; it then returns
// the message holding it.
func (c *Chat) PutMessage(_ context.Context, m chat.Message) (*chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.messages[m.ConversationID][m.Seq]; ok {
		o := old.message(m.ConversationID, m.Seq)
		return &o, nil
	}
	if c.messages[m.ConversationID] == nil {
		c.messages[m.ConversationID] = map[int64]msgRec{}
	}
	c.messages[m.ConversationID][m.Seq] = toMsgRec(m)
	return nil, nil
}

// LatestSeq returns the highest stored seq and its message's count.
func (c *Chat) LatestSeq(_ context.Context, conv chat.ConversationID) (int64, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seqs := c.seqs(conv)
	if len(seqs) == 0 {
		return 0, 0, nil
	}
	last := seqs[len(seqs)-1]
	if last == 0 {
		return 0, 0, fmt.Errorf("memstore: latest seq: message without seq")
	}
	return last, c.messages[conv][last].n, nil
}

// MessageCount returns the count of the message at seq (0 if absent).
func (c *Chat) MessageCount(_ context.Context, conv chat.ConversationID, seq int64) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.messages[conv][seq].n, nil
}

// GetMessage reads one message; nil if absent.
func (c *Chat) GetMessage(_ context.Context, conv chat.ConversationID, seq int64) (*chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.messages[conv][seq]
	if !ok {
		return nil, nil
	}
	m := r.message(conv, seq)
	return &m, nil
}

// AdvanceConversation records m as the last message unless a later (or the
// same) seq is recorded; it creates a missing head.
func (c *Chat) AdvanceConversation(_ context.Context, ref chat.ConvRef, m chat.Message, preview string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.metas[ref.ID]
	if h.hasSeq && h.lastSeq >= m.Seq {
		return nil
	}
	if !ok || h.createdAt == 0 && !h.hasSeq {
		h.createdAt = ms(m.CreatedAt) // if_not_exists(created_at)
	}
	h.lastSeq, h.hasSeq, h.lastMsgID, h.lastAt, h.lastSender, h.kind = m.Seq, true, m.MessageID, ms(m.CreatedAt), m.SenderID, ref.Kind
	h.lastPreview, h.lastKind, h.lastN = preview, "", max(m.Count, 0)
	if m.Kind != chat.KindMessage {
		h.lastKind = m.Kind
	}
	if ref.Kind == chat.KindDM {
		h.a, h.b = ref.A, ref.B
	} else {
		h.groupID = ref.GroupID
	}
	c.metas[ref.ID] = h
	return nil
}

// History returns messages with lo <= seq <= hi, ascending or descending,
// at most limit.
func (c *Chat) History(_ context.Context, conv chat.ConversationID, lo, hi int64, ascending bool, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return nil, nil // the adapter issues no query
	}
	if lo > hi {
		// DynamoDB rejects BETWEEN with lo > hi (moto answers empty).
		return nil, errInvalid("history", "lo above hi")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seqs := c.seqs(conv)
	if !ascending {
		slices.Reverse(seqs)
	}
	var list []chat.Message
	for _, s := range seqs {
		if s >= lo && s <= hi && len(list) < limit {
			list = append(list, c.messages[conv][s].message(conv, s))
		}
	}
	return list, nil
}

// seqs returns conv's stored seqs, ascending.
func (c *Chat) seqs(conv chat.ConversationID) []int64 {
	seqs := make([]int64, 0, len(c.messages[conv]))
	for s := range c.messages[conv] {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	return seqs
}

// ChangeMessage recalls or edits a plain, unrecalled message under ch's
// conditions. If one fails it returns the message as it stands (nil if
// none) and chat.ErrConflict.
func (c *Chat) ChangeMessage(_ context.Context, ch chat.MessageChange) (chat.Message, *chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.messages[ch.ConversationID][ch.Seq]
	if !ok {
		return chat.Message{}, nil, chat.ErrConflict
	}
	if r.recalledAt != 0 || r.kind != "" || (!ch.Recall && r.editSeq >= ch.EventSeq && r.editSeq != 0) ||
		(ch.RequireSender != "" && r.sender != ch.RequireSender) || (!ch.NotBefore.IsZero() && r.createdAt < ms(ch.NotBefore)) {
		old := r.message(ch.ConversationID, ch.Seq)
		return chat.Message{}, &old, chat.ErrConflict
	}
	if ch.Recall {
		r.recalledAt, r.recallSeq = ms(ch.At), ch.EventSeq
		if ch.By != "" {
			r.recalledBy = ch.By
		}
		r.text, r.ptype, r.pdata, r.editedAt, r.editSeq, r.mentions, r.att = "", "", "", 0, 0, nil, nil
	} else {
		r.text, r.editedAt, r.editSeq = ch.Text, ms(ch.At), ch.EventSeq
	}
	c.messages[ch.ConversationID][ch.Seq] = r
	return r.message(ch.ConversationID, ch.Seq), nil, nil
}

// ListClaims returns conv's claims whose key starts with prefix, in key
// order.
func (c *Chat) ListClaims(_ context.Context, conv chat.ConversationID, prefix string) ([]chat.Claim, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for k := range c.claims[conv] {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var list []chat.Claim
	for _, k := range keys {
		list = append(list, *c.claims[conv][k].claim(conv, k))
	}
	return list, nil
}

// EraseMessage erases the content of the message at seq if it is message
// id, marking it recalled; a missing or other message is left alone.
func (c *Chat) EraseMessage(_ context.Context, conv chat.ConversationID, seq int64, id string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.messages[conv][seq]
	if !ok || r.id != id {
		return nil
	}
	if r.recalledAt == 0 {
		r.recalledAt = ms(at)
	}
	r.text, r.ptype, r.pdata = "", "", ""
	c.messages[conv][seq] = r
	return nil
}
