package memstore

import (
	"context"
	"slices"

	"github.com/tokenim/tokenim/shared/chat"
)

// Threads and quotes, as shared/aws/dynamo/threads.go stores them: an index
// of each root's replies, and the root's summary raised to the index's count.

// GetMessages reads messages by seq; absent ones are not in the map.
func (c *Chat) GetMessages(_ context.Context, conv chat.ConversationID, seqs []int64) (map[int64]chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int64]chat.Message{}
	for _, s := range seqs {
		if r, ok := c.messages[conv][s]; ok {
			out[s] = r.message(conv, s)
		}
	}
	return out, nil
}

// RecordThreadReply indexes reply under root and raises the root's summary
// to the index's count (a missing root is left alone). Idempotent.
func (c *Chat) RecordThreadReply(_ context.Context, conv chat.ConversationID, root int64, reply chat.Message) (chat.Thread, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.threads[conv] == nil {
		c.threads[conv] = map[int64]map[int64]int64{}
	}
	if c.threads[conv][root] == nil {
		c.threads[conv][root] = map[int64]int64{}
	}
	c.threads[conv][root][reply.Seq] = ms(reply.CreatedAt)
	var th chat.Thread
	for seq, at := range c.threads[conv][root] {
		th.ReplyCount++
		if seq > th.LastReplySeq {
			th.LastReplySeq, th.LastReplyAt = seq, fromMS(at)
		}
	}
	if r, ok := c.messages[conv][root]; ok && r.threadN < th.ReplyCount {
		r.threadN, r.threadLast, r.threadAt = th.ReplyCount, th.LastReplySeq, ms(th.LastReplyAt)
		c.messages[conv][root] = r
	}
	return th, nil
}

// ThreadReplies returns the seqs of up to limit replies to root after
// seq after, oldest first.
func (c *Chat) ThreadReplies(_ context.Context, conv chat.ConversationID, root, after int64, limit int) ([]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var seqs []int64
	for s := range c.threads[conv][root] {
		if s > after {
			seqs = append(seqs, s)
		}
	}
	slices.Sort(seqs)
	if len(seqs) > max(limit, 0) {
		seqs = seqs[:max(limit, 0)]
	}
	return seqs, nil
}
