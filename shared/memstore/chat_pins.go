package memstore

import (
	"context"
	"maps"
	"slices"

	"github.com/tokenim/tokenim/shared/chat"
)

// Pinned messages, as shared/aws/dynamo/pins.go stores them on the head.

func (r metaRec) pinList() []chat.Pin {
	if len(r.pins) == 0 {
		return nil
	}
	ps := slices.Collect(maps.Values(r.pins))
	chat.SortPins(ps)
	return ps
}

// PinMessage pins p unless the head has max pins (chat.ErrConflict); a
// pinned seq keeps its first pin. A missing head is a conflict too.
func (c *Chat) PinMessage(_ context.Context, conv chat.ConversationID, p chat.Pin, max int) ([]chat.Pin, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.metas[conv]
	_, pinned := h.pins[p.Seq]
	if !ok || (!pinned && len(h.pins) >= max) {
		return nil, chat.ErrConflict
	}
	if !pinned {
		h.pins = maps.Clone(h.pins)
		if h.pins == nil {
			h.pins = map[int64]chat.Pin{}
		}
		p.PinnedAt = fromMS(ms(p.PinnedAt))
		h.pins[p.Seq] = p
		c.metas[conv] = h
	}
	return h.pinList(), nil
}

// UnpinMessage unpins seq (nothing if it is not pinned, or no head).
func (c *Chat) UnpinMessage(_ context.Context, conv chat.ConversationID, seq int64) ([]chat.Pin, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.metas[conv]
	if !ok {
		return nil, nil
	}
	if _, pinned := h.pins[seq]; pinned {
		h.pins = maps.Clone(h.pins)
		delete(h.pins, seq)
		c.metas[conv] = h
	}
	return h.pinList(), nil
}
