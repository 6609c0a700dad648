package realtime

// Blocks in group pushes: when B has blocked A, B's devices get no live
// push and B no offline notification of A's messages in groups (a DM from
// A to B is refused before it is stored: shared/moderation's send guard).
// The message stays in the group's history and sync for B, as
// docs/permissions.md promises: only the pushes are held back.

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/tokenim/tokenim/shared/chat"
)

// Blocks answers which recipients have blocked a sender
// (shared/moderation.BlockIndex: one BatchGetItem per 100 recipients not
// in its per-sandbox cache).
type Blocks interface {
	BlockersOf(ctx context.Context, sender string, recipients []string) ([]string, error)
}

// SetBlocks makes the notifier hold back a user's group messages from the
// recipients who blocked that user (nil: nobody is held back).
func (n *Notifier) SetBlocks(b Blocks) { n.blocks = b }

// blockedSender is the user whose message f carries, if pushes of f are
// held back from that user's blockers: a user's new or edited message in
// a group. Recalls pass (they carry no content), as do system messages and
// everything in DMs.
func blockedSender(f EventFrame) string {
	if f.GroupID == "" || f.Message == nil || f.Message.SenderType != chat.SenderUser {
		return ""
	}
	switch chat.EventType(f.Type) {
	case chat.EventMessageCreated, chat.EventMessageEdited:
		return f.Message.SenderID
	}
	return ""
}

// blockers returns those of users who blocked the sender of f (nil when
// f is not held back or no Blocks is set). The sender is never a blocker
// of their own message.
func (n *Notifier) blockers(ctx context.Context, f *EventFrame, users []string) ([]string, error) {
	if n.blocks == nil || f == nil {
		return nil, nil
	}
	sender := blockedSender(*f)
	if sender == "" {
		return nil, nil
	}
	others := slices.DeleteFunc(uniq(users), func(u string) bool { return u == sender })
	if len(others) == 0 {
		return nil, nil
	}
	return n.blocks.BlockersOf(ctx, sender, others)
}

// heldFrame decodes a queued job's frame when it may be held back from
// blockers (nil otherwise, or with no Blocks set).
func (n *Notifier) heldFrame(raw []byte) *EventFrame {
	if n.blocks == nil {
		return nil
	}
	var f EventFrame
	if json.Unmarshal(raw, &f) != nil || blockedSender(f) == "" {
		return nil
	}
	return &f
}
