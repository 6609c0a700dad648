package push

import (
	"context"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// ChatUnread counts unread messages through the chat service, as the user
// would see them in their conversation list (Unread).
type ChatUnread struct{ Chat *chat.Service }

// maxUnreadPages bounds the pages read for one badge (100 conversations
// each); a user with more gets the count of the 1,000 most recent.
const maxUnreadPages = 10

// TotalUnread sums the unread counts of the user's conversations. Cost:
// one conversation listing (docs/data-model.md, "list conversations").
func (c ChatUnread) TotalUnread(ctx context.Context, userID string) (int64, error) {
	p := auth.Principal{Kind: auth.KindUser, UserID: userID}
	var total int64
	cursor := ""
	for range maxUnreadPages {
		page, err := c.Chat.ListConversations(ctx, p, "", 100, cursor)
		if err != nil {
			return 0, err
		}
		for _, conv := range page.Conversations {
			if conv.UnreadCount != nil {
				total += *conv.UnreadCount
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	return total, nil
}
