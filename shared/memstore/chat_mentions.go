package memstore

import (
	"context"
	"slices"

	"github.com/tokenim/tokenim/shared/chat"
)

// Mentions, as shared/aws/dynamo/mentions.go stores them: seqs on the
// mentioned users' entries and, for @all, the newest on the head.

func sortedSeqs(s []int64) []int64 {
	if len(s) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}

// RecordMentions adds seq to the users' entries (skipping a missing one,
// or one read past seq) and, with all, to the head's @all seqs.
func (c *Chat) RecordMentions(_ context.Context, conv chat.ConversationID, seq int64, users []string, all bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range users {
		e, ok := c.entries[u][conv]
		if !ok || e.readSeq >= seq || slices.Contains(e.ment, seq) {
			continue
		}
		e.ment = append(slices.Clone(e.ment), seq)
		c.entries[u][conv] = e
	}
	h, ok := c.metas[conv]
	if !all || !ok || slices.Contains(h.mall, seq) {
		return nil
	}
	mall := sortedSeqs(append(slices.Clone(h.mall), seq))
	if extra := len(mall) - chat.MaxMentionAllKept; extra > 0 {
		mall = mall[extra:]
	}
	h.mall = mall
	c.metas[conv] = h
	return nil
}
