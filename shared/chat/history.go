package chat

// History: paging through a conversation by seq, both ways.

import (
	"context"
	"errors"
	"strconv"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// HistoryQuery selects a page of history. After and Before are exclusive
// bounds; nil is no bound (so After of 0 is "from the first message",
// distinct from no After at all). With After the page goes forward from
// it; otherwise it ends just below Before (or at the newest message).
// Messages are always returned oldest first.
type HistoryQuery struct {
	After, Before *int64
	Limit         int
	Cursor        string
	AsUser        string // admin tokens: read as this user (optional)
}

// historyCursor is the state of a history listing: the bounds of the
// next page (nil: unbounded on that side).
type historyCursor struct {
	After  *int64 `json:"a,omitempty"`
	Before *int64 `json:"b,omitempty"`
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// History pages through a conversation by seq.
func (s *Service) History(ctx context.Context, p auth.Principal, convID string, q HistoryQuery) (MessagePage, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return MessagePage{}, err
	}
	ref, err := ParseConversationID(convID)
	if err != nil {
		return MessagePage{}, err
	}
	r, err := readerOf(p, q.AsUser)
	if err != nil {
		return MessagePage{}, err
	}
	scope := "history:" + string(ref.ID)
	if q.Cursor != "" {
		var c historyCursor
		if err := s.cursors.Decode(scope, q.Cursor, &c); err != nil {
			return MessagePage{}, err
		}
		// The cursor replaces the query's bounds: a bound it lacks is none.
		q.After, q.Before = c.After, c.Before
	}
	after, forward := int64(0), q.After != nil
	if forward {
		after = *q.After
	}
	if after < 0 || (q.Before != nil && *q.Before < 0) || (forward && q.Before != nil && *q.Before <= after+1 && q.Cursor == "") {
		return MessagePage{}, apierror.New(apierror.SeqOutOfRange, "after and before must be non-negative, with after < before - 1.")
	}
	v, err := s.readAccess(ctx, r, ref)
	if err != nil {
		return MessagePage{}, err
	}
	last := v.Meta.LastSeq
	if after > last || (q.Before != nil && *q.Before > last+1) {
		return MessagePage{}, apierror.New(apierror.SeqOutOfRange, "The conversation's last seq is %d.", last).WithDetails(map[string]int64{"last_seq": last})
	}
	hi := int64(maxSeq)
	if q.Before != nil {
		hi = *q.Before - 1
	}
	page := MessagePage{Messages: []Message{}}
	if hi < after+1 {
		return page, nil
	}
	list, err := s.store.History(ctx, ref.ID, after+1, hi, forward, limit)
	if err != nil {
		return MessagePage{}, err
	}
	if !forward {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	if list != nil {
		page.Messages = list
	}
	if err := s.withQuotes(ctx, ref.ID, page.Messages); err != nil {
		return MessagePage{}, err
	}
	forReaderAll(page.Messages, r.id)
	if len(list) == limit {
		var next historyCursor
		if forward {
			next.After, next.Before = &list[len(list)-1].Seq, q.Before
		} else if list[0].Seq > 1 {
			next.Before = &list[0].Seq
		}
		if next.After != nil || next.Before != nil {
			if page.NextCursor, err = s.cursors.Encode(scope, next); err != nil {
				return MessagePage{}, err
			}
		}
	}
	return page, nil
}

// ParseSeq reads a seq from a path or query string: a decimal 0..maxSeq.
func ParseSeq(field, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		n = maxSeq + 1 // all digits, just too many of them
	} else if err != nil {
		return 0, fieldErr(field, "%s must be an integer.", field)
	}
	if n < 0 || n > maxSeq {
		return 0, apierror.New(apierror.SeqOutOfRange, "%s must be between 0 and %d.", field, maxSeq)
	}
	return n, nil
}
