package realtime

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/tokenim/tokenim/shared/chat"
)

// OfflineSink hears which recipients of a new, edited or recalled message had no live
// WebSocket delivery for it: no connection, or every push to their
// connections answered 410 or was refused. Offline push (shared/push)
// implements it. A recipient whose push failed in a way that may still
// succeed (throttled, 5xx: the fan-out retries it) is not offline. The
// sender is never reported. It may be called more than once for the
// same message (a replayed Notify, a redelivered fan-out job): the sink
// is idempotent per (user, conversation, seq). It must not block for
// long: it runs on the sender's path (inline deliveries).
type OfflineSink interface {
	Offline(ctx context.Context, e EventFrame, users []string)
}

// SetOffline makes the notifier report offline recipients of
// message.created, message.edited and message.recalled events to s (nil:
// nobody is told). An edit or recall lets the sink update a notification
// it pushed for the message.
func (n *Notifier) SetOffline(s OfflineSink) { n.offline = s }

// reportsOffline says whether frames of this type are reported.
func reportsOffline(eventType string) bool {
	switch chat.EventType(eventType) {
	case chat.EventMessageCreated, chat.EventMessageEdited, chat.EventMessageRecalled:
		return true
	}
	return false
}

// reportOffline tells the sink about the audience users that got nothing
// and have nothing pending, the actor left out.
func (n *Notifier) reportOffline(ctx context.Context, f EventFrame, audience []string, out Outcome) {
	if n.offline == nil || !reportsOffline(f.Type) {
		return
	}
	live := map[string]bool{f.Actor: true}
	for _, u := range out.Delivered {
		live[u] = true
	}
	for _, t := range out.Failed {
		live[t.User] = true // retried: it may still arrive live
	}
	var off []string
	for _, u := range uniq(audience) {
		if !live[u] {
			off = append(off, u)
		}
	}
	if len(off) > 0 {
		slices.Sort(off)
		n.offline.Offline(ctx, f, off)
	}
}

// frameOf decodes a queued job's frame for reportOffline (only frames of
// reported types need it).
func (n *Notifier) frameOf(raw []byte) (EventFrame, bool) {
	if n.offline == nil {
		return EventFrame{}, false
	}
	var f EventFrame
	if err := json.Unmarshal(raw, &f); err != nil || !reportsOffline(f.Type) {
		return EventFrame{}, false
	}
	return f, true
}

// DeliverUsers pushes frame to every connection of users (at most 100:
// one presence BatchGetItem) and returns those of them at least one of
// whose connections got it. Broadcast notifications use it to tell the
// users reached live from those to push.
func (n *Notifier) DeliverUsers(ctx context.Context, users []string, frame []byte) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	pres, err := n.store.Presence(ctx, users, n.now())
	if err != nil {
		return nil, err
	}
	out := n.pushAll(ctx, targetsOf(pres), frame)
	live := map[string]bool{}
	for _, u := range out.Delivered {
		live[u] = true
	}
	return live, nil
}
