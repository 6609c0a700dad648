package moderation

import (
	"context"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/tokenim/tokenim/shared/realtime"
)

// BlockLookup is the one read a BlockIndex makes.
type BlockLookup interface {
	BlockersOf(ctx context.Context, sender string, recipients []string) ([]string, error)
}

// BlockIndex tells a group push which recipients blocked the sender
// (realtime.Blocks). Each (recipient, sender) answer is kept per sandbox
// for BlockTTL, as the send guard keeps a DM's: a block or unblock reaches
// group pushes within BlockTTL, and a conversation in full flow reads
// nothing; the keys not cached are read in one BatchGetItem per 100.
type BlockIndex struct {
	store BlockLookup
	now   func() time.Time
	cache *expirable.LRU[string, cached[bool]]
}

var _ realtime.Blocks = (*BlockIndex)(nil)

// NewBlockIndex builds an index over s; now nil is time.Now.
func NewBlockIndex(s BlockLookup, now func() time.Time) *BlockIndex {
	if now == nil {
		now = time.Now
	}
	return &BlockIndex{store: s, now: now, cache: expirable.NewLRU[string, cached[bool]](cacheKeys, nil, BlockTTL)}
}

// blockKey is the cache key of "owner blocked other" (the guard's too).
func blockKey(owner, other string) string { return owner + "\x00" + other }

// BlockersOf implements realtime.Blocks.
func (b *BlockIndex) BlockersOf(ctx context.Context, sender string, recipients []string) ([]string, error) {
	now := b.now()
	var out, miss []string
	for _, r := range recipients {
		c, ok := b.cache.Get(blockKey(r, sender))
		switch {
		case !ok || now.Sub(c.at) >= BlockTTL:
			miss = append(miss, r)
		case c.v:
			out = append(out, r)
		}
	}
	if len(miss) == 0 {
		return out, nil
	}
	found, err := b.store.BlockersOf(ctx, sender, miss)
	if err != nil {
		return nil, err
	}
	blocked := make(map[string]bool, len(found))
	for _, r := range found {
		blocked[r] = true
	}
	for _, r := range miss {
		b.cache.Add(blockKey(r, sender), cached[bool]{blocked[r], now})
	}
	return append(out, found...), nil
}
