package chat

// Seq allocation: a message is placed at the conversation's next seq by a
// conditional put, and a collision re-claims (docs/data-model.md).

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"time"
)

// CountAfter is the Count of a message of the kind stored right after the
// message at prevSeq, whose Count is prevCount: one more for a message,
// the same for an event. An unknown count (0 after seq 0) stays unknown.
func CountAfter(prevSeq, prevCount int64, kind string) int64 {
	switch {
	case prevSeq > 0 && prevCount == 0:
		return 0
	case kind == KindMessage:
		return prevCount + 1
	}
	return prevCount
}

// place writes m at m.Seq, moving on to the true next seq whenever the
// slot is taken by another message. Gapless by induction: the head's
// last_seq never exceeds the highest stored seq, and every write targets
// either head+1 or highest+1, so it lands right after the highest stored
// message or collides. A claim moves only off a slot held by another
// message, so its message is written at one seq at most. For the same
// reason m.Count, computed from the message m.Seq-1 as read, is exact
// whenever the write lands.
func (s *Service) place(ctx context.Context, m Message, claim *Claim) (Message, bool, error) {
	for attempt := 0; attempt < 200; attempt++ {
		if m.Seq > maxSeq {
			return Message{}, false, errors.New("chat: send: conversation is full")
		}
		old, err := s.store.PutMessage(ctx, m)
		if err != nil {
			return Message{}, false, err
		}
		if old == nil {
			return m, true, nil
		}
		if old.MessageID == m.MessageID {
			return *old, false, nil // a concurrent retry of ours wrote it
		}
		latest, count, err := s.store.LatestSeq(ctx, m.ConversationID)
		if err != nil {
			return Message{}, false, err
		}
		if latest < m.Seq { // the read lags the write that took m.Seq
			latest, count = old.Seq, old.Count
		}
		next := latest + 1
		if claim != nil {
			moved := *claim
			moved.Seq = next
			cur, err := s.store.MoveClaim(ctx, moved, m.Seq)
			if err != nil {
				return Message{}, false, err
			}
			if cur != nil { // a concurrent retry moved it first: follow it
				next = cur.Seq
				moved = *cur
				if next > latest+1 { // past what we read: read again for the count
					if latest, count, err = s.store.LatestSeq(ctx, m.ConversationID); err != nil {
						return Message{}, false, err
					}
				}
			}
			claim = &moved
		}
		// If next does not follow latest the write collides and recounts.
		m.Seq, m.Count = next, CountAfter(latest, count, m.Kind)
		// Under contention every loser of a slot races for the next one;
		// a little jitter spreads them out so most win within a few tries.
		if err := jitter(ctx, attempt); err != nil {
			return Message{}, false, err
		}
	}
	return Message{}, false, errors.New("chat: send: too much contention")
}

func jitter(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(2*time.Millisecond) << min(attempt, 5))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sendAccess checks the sender may post to ref and returns the head (nil
