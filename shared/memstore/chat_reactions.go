package memstore

import (
	"context"
	"maps"
	"slices"

	"github.com/tokenim/tokenim/shared/chat"
)

// Reactions, as shared/aws/dynamo/reactions.go stores them on the message:
// a count per emoji and each user's emojis, changed under the same
// conditions in one step.

func (r msgRec) reactionsTo(m *chat.Message) {
	for u, es := range r.ru {
		if m.Reactors == nil {
			m.Reactors = map[string][]string{}
		}
		m.Reactors[u] = slices.Clone(es)
	}
	m.Reactions = chat.CountReactions(m.Reactors)
}

// React adds or removes one user's reaction; if that changes nothing or a
// condition fails, it returns the message as it stands and
// chat.ErrConflict.
func (c *Chat) React(_ context.Context, ch chat.ReactionChange) (chat.Message, *chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.messages[ch.ConversationID][ch.Seq]
	if !ok {
		return chat.Message{}, nil, chat.ErrConflict
	}
	mine := r.ru[ch.UserID]
	has := slices.Contains(mine, ch.Emoji)
	conflict := func() (chat.Message, *chat.Message, error) {
		old := r.message(ch.ConversationID, ch.Seq)
		return chat.Message{}, &old, chat.ErrConflict
	}
	rc, ru := maps.Clone(r.rc), maps.Clone(r.ru)
	if rc == nil {
		rc, ru = map[string]int64{}, map[string][]string{}
	}
	if ch.Remove {
		if !has {
			return conflict()
		}
		rc[ch.Emoji]--
		if rc[ch.Emoji] <= 0 {
			delete(rc, ch.Emoji)
		}
		mine = slices.DeleteFunc(slices.Clone(mine), func(e string) bool { return e == ch.Emoji })
		if len(mine) == 0 {
			delete(ru, ch.UserID)
		} else {
			ru[ch.UserID] = mine
		}
	} else {
		_, counted := r.rc[ch.Emoji]
		if r.recalledAt != 0 || r.kind != "" || has || len(mine) >= ch.MaxPerUser || (!counted && len(r.rc) >= ch.MaxKinds) {
			return conflict()
		}
		rc[ch.Emoji]++
		mine = append(slices.Clone(mine), ch.Emoji)
		slices.Sort(mine)
		ru[ch.UserID] = mine
	}
	r.rc, r.ru = rc, ru
	c.messages[ch.ConversationID][ch.Seq] = r
	return r.message(ch.ConversationID, ch.Seq), nil, nil
}
