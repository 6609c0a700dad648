package chat

// The delivery backstop. A send stores its message, then pushes it, then
// advances the conversation's head (send.go, deliver). An invocation can
// die between any two of those steps (a timeout, a throttle, a sandbox
// that is gone), and then nobody would push the message, and sync, which
// reads from the head, would not return it. The messages table's stream
// hands every stored message to the backstop: a message whose head is
// still behind it once its sender has had PendingAge to finish was left
// undone, and the backstop pushes it and advances the head itself.
//
// Because the head moves only after the pushes, a head at or past a
// message means its pushes were made, or a later message's push was (and
// revealed this one to every online client as a gap in the seqs). So the
// happy path costs one head read per stream batch and no second push.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultPendingAge is how long the backstop lets a sender finish pushing
// before it acts (DELIVERY_PENDING_AGE_SECONDS).
const DefaultPendingAge = 4 * time.Second

// Pending is a stored message whose head had not reached it when the
// backstop looked, and which is checked again at Due.
type Pending struct {
	ConversationID ConversationID `json:"conversation_id"`
	Seq            int64          `json:"seq"`
	Due            time.Time      `json:"due"`
	// Attempt counts the backstop's own deliveries that failed (0: none).
	Attempt int `json:"attempt,omitempty"`
}

// MaxRepairAttempts bounds the backstop's retries of a delivery that keeps
// failing for some recipient (a connection API Gateway keeps throttling):
// after that many, it advances the head anyway, so sync reveals the
// message to whoever the push did not reach.
const MaxRepairAttempts = 5

// repairParallel is how many conversations one pass repairs at once
// (each conversation's messages stay in seq order).
const repairParallel = 16

// BackstopResult is what one pass of the backstop did.
type BackstopResult struct {
	Delivered int       // messages already pushed and visible (the happy path)
	Repaired  int       // messages the backstop pushed and revealed
	Pending   []Pending // to check again at their Due
}

// CheckStored is the backstop's first look at newly stored messages (the
// stream's batch): one BatchGetItem of their heads. A message at or below
// its head is done. One behind its head comes back as Pending, due once
// its sender has had pendingAge to finish (at once if that is past): the
// stream's pass never pushes, so a slow repair never holds up the shard.
func (s *Service) CheckStored(ctx context.Context, msgs []Message, pendingAge time.Duration) (BackstopResult, error) {
	now := s.now()
	var res BackstopResult
	behind, err := s.behind(ctx, msgs, &res)
	if err != nil {
		return res, err
	}
	for _, m := range behind {
		res.Pending = append(res.Pending, Pending{ConversationID: m.ConversationID, Seq: m.Seq, Due: maxTime(now, m.CreatedAt.Add(pendingAge))})
	}
	return res, nil
}

// RepairPending is the backstop's second look, at Due or later: a message
// whose head is still behind it is pushed and revealed. Ones not yet due
// (a queue delivered them early) come back as Pending, and so do ones
// whose delivery failed again, due after a backoff of retryAfter doubled
// per attempt.
func (s *Service) RepairPending(ctx context.Context, ps []Pending, retryAfter time.Duration) (BackstopResult, error) {
	now := s.now()
	var res BackstopResult
	var msgs []Message
	attempts := map[msgKey]int{}
	for _, p := range ps {
		if now.Before(p.Due) {
			res.Pending = append(res.Pending, p)
			continue
		}
		m, err := s.store.GetMessage(ctx, p.ConversationID, p.Seq)
		if err != nil {
			return res, err
		}
		if m == nil {
			return res, fmt.Errorf("chat: backstop: message %s/%d not found", p.ConversationID, p.Seq)
		}
		msgs = append(msgs, *m)
		attempts[msgKey{p.ConversationID, p.Seq}] = p.Attempt
	}
	behind, err := s.behind(ctx, msgs, &res)
	if err != nil {
		return res, err
	}
	// Conversations are independent: repair them side by side, each in
	// seq order (behind sorted them).
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, repairParallel)
	var wg sync.WaitGroup
	for start := 0; start < len(behind); {
		end := start
		for end < len(behind) && behind[end].ConversationID == behind[start].ConversationID {
			end++
		}
		conv := behind[start:end]
		start = end
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var part BackstopResult
			err := s.repair(ctx, conv, attempts, now, retryAfter, &part)
			mu.Lock()
			defer mu.Unlock()
			res.Repaired += part.Repaired
			res.Pending = append(res.Pending, part.Pending...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return res, firstErr
}

type msgKey struct {
	conv ConversationID
	seq  int64
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// behind returns the messages their heads have not reached, in seq order
// per conversation, and counts the others as delivered.
func (s *Service) behind(ctx context.Context, msgs []Message, res *BackstopResult) ([]Message, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	var ids []ConversationID
	for _, m := range msgs {
		if !slices.Contains(ids, m.ConversationID) {
			ids = append(ids, m.ConversationID)
		}
	}
	metas, err := s.store.GetConvMetas(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, m := range msgs {
		if meta, ok := metas[m.ConversationID]; ok && meta.LastSeq >= m.Seq {
			// A later message can carry the head past a thread reply or
			// a mention whose sender died before recording it, so every
			// one is recorded again (idempotent: once, docs/data-model.md).
			if err := s.recordExtras(ctx, m); err != nil {
				return nil, err
			}
			res.Delivered++
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Message) int {
		return cmp.Or(cmp.Compare(a.ConversationID, b.ConversationID), cmp.Compare(a.Seq, b.Seq))
	})
	return out, nil
}

// repair pushes one conversation's messages as their sender would have,
// then advances the head, in seq order: the head never passes a message
// not yet pushed. A delivery that fails for some recipient stops the
// conversation there: it and the messages after it come back as Pending,
// after a backoff, until MaxRepairAttempts, after which the head moves on
// anyway (sync then reveals the message to whoever the push missed).
func (s *Service) repair(ctx context.Context, msgs []Message, attempts map[msgKey]int, now time.Time, retryAfter time.Duration, res *BackstopResult) error {
	for i, m := range msgs {
		ref, err := ParseConversationID(string(m.ConversationID))
		if err != nil {
			return fmt.Errorf("chat: backstop: %s: %w", m.ConversationID, err)
		}
		e, ok, err := s.eventFor(ctx, ref, m)
		if err != nil {
			return err
		}
		if !ok {
			// A recall or edit whose change is not applied yet: its actor's
			// retry completes it (change.go); until then it stays hidden
			// from sync as before.
			continue
		}
		if err := s.recordExtras(ctx, m); err != nil { // before the push, as in deliver
			return err
		}
		attempt := attempts[msgKey{m.ConversationID, m.Seq}] + 1
		if err := s.notifyDelivered(ctx, e); err != nil {
			if attempt < MaxRepairAttempts {
				s.log.WarnContext(ctx, "backstop: delivery incomplete, retrying later", "conversation_id", m.ConversationID, "seq", m.Seq, "attempt", attempt, "error", err)
				for _, later := range msgs[i:] {
					a := attempts[msgKey{later.ConversationID, later.Seq}]
					if later.Seq == m.Seq {
						a = attempt
					}
					res.Pending = append(res.Pending, Pending{ConversationID: later.ConversationID, Seq: later.Seq, Due: now.Add(retryAfter << (attempt - 1)), Attempt: a})
				}
				return nil
			}
			s.log.ErrorContext(ctx, "backstop: delivery still incomplete, revealing the message to sync", "conversation_id", m.ConversationID, "seq", m.Seq, "attempts", attempt, "error", err)
		}
		if err := s.store.AdvanceConversation(ctx, ref, m, preview(m)); err != nil {
			return err
		}
		res.Repaired++
		s.log.InfoContext(ctx, "backstop delivered a message its sender left undone",
			"conversation_id", m.ConversationID, "seq", m.Seq, "kind", m.Kind)
	}
	return nil
}

// eventFor is the event the message's sender would have notified.
func (s *Service) eventFor(ctx context.Context, ref ConvRef, m Message) (Event, bool, error) {
	e := Event{ConversationID: ref.ID, GroupID: ref.GroupID, Actor: m.SenderID}
	switch m.Kind {
	case KindRecall, KindEdit:
		target, err := s.store.GetMessage(ctx, ref.ID, m.RefSeq)
		if err != nil || target == nil {
			return e, false, err
		}
		applied := m.Kind == KindRecall && target.Recalled && target.RecallSeq == m.Seq ||
			m.Kind == KindEdit && target.EditSeq >= m.Seq
		if !applied {
			return e, false, nil
		}
		e.Type, e.Seq, e.Message, e.EventSeq, e.EventMessage = EventMessageEdited, m.RefSeq, target, m.Seq, &m
		if m.Kind == KindRecall {
			e.Type = EventMessageRecalled
		}
		return e, true, nil
	default:
		withQuote := []Message{m}
		if err := s.withQuotes(ctx, ref.ID, withQuote); err != nil {
			return e, false, err
		}
		e.Type, e.Seq, e.Message = EventMessageCreated, m.Seq, &withQuote[0]
		return e, true, nil
	}
}
