package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
)

// Config tunes delivery.
type Config struct {
	// InlineMax is the largest group whose pushes the sender's own
	// invocation makes (default 100; FANOUT_INLINE_MAX). Larger groups go
	// through the fan-out queue, so a send costs the same for 10 and
	// 10,000 members: one member-page Query and one SQS SendMessage.
	InlineMax int
	// Concurrency bounds simultaneous PostToConnection calls of one
	// delivery (default 32).
	Concurrency int
	// Timeout bounds one inline delivery (default 3 s):
	// pushes still pending then are dropped; clients recover with sync.
	Timeout time.Duration
}

// Defaults for Config.
const (
	DefaultInlineMax   = 100
	DefaultConcurrency = 32
	DefaultTimeout     = 3 * time.Second
)

func (c Config) withDefaults() Config {
	if c.InlineMax <= 0 {
		c.InlineMax = DefaultInlineMax
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Notifier delivers chat events and ephemeral frames to the connections
// of their audience. It implements chat.Notifier: the change is stored
// before Notify runs, and nothing Notify does can undo or fail it.
type Notifier struct {
	store Store
	push  Pusher
	queue Queue // nil: large groups are pushed inline, page by page
	// offline hears who got no live delivery of a new message (nil: nobody).
	offline OfflineSink
	// blocks holds a user's group messages back from their blockers (nil: nobody).
	blocks Blocks
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
}

// NewNotifier builds a notifier. queue may be nil.
func NewNotifier(s Store, p Pusher, q Queue, cfg Config, log *slog.Logger) *Notifier {
	return &Notifier{store: s, push: p, queue: q, cfg: cfg.withDefaults(), log: log, now: time.Now}
}

// Pusher returns the notifier's pusher (for replies to a client).
func (n *Notifier) Pusher() Pusher { return n.push }

// Config returns the effective configuration.
func (n *Notifier) Config() Config { return n.cfg }

// Audience is who receives a frame.
type Audience struct {
	// Users are pushed to directly: their connections are found with one
	// Query each when there is no Group, else with the group's BatchGetItems.
	Users []string
	// Group: every current member of the group (resolved at push time).
	Group string
	// Exclude is a connection that must not receive the frame (the one
	// that sent the request: it gets the ack).
	Exclude string
	// ExcludeUsers receive nothing (a typing user's own devices).
	ExcludeUsers []string
	// Ephemeral frames (typing) are not worth a queued fan-out: for a
	// group above InlineMax, Deliver drops them with ErrAudienceTooLarge.
	Ephemeral bool
}

// ErrAudienceTooLarge: an ephemeral frame's group is above InlineMax.
var ErrAudienceTooLarge = errors.New("realtime: audience too large for an ephemeral frame")

// Notify pushes a chat event to its audience (docs/websocket.md, "Who
// receives what"). Failures are logged, never returned.
func (n *Notifier) Notify(ctx context.Context, e chat.Event) {
	f := FrameOf(e)
	b, err := json.Marshal(f)
	if err != nil {
		n.log.ErrorContext(ctx, "push: marshal event", "type", string(e.Type), "err", err.Error())
		return
	}
	aud, ok := audienceOf(e)
	if !ok {
		return
	}
	aud.Exclude = originOf(ctx)
	if _, err := n.deliver(ctx, aud, b, &f); err != nil {
		n.log.ErrorContext(ctx, "push failed", "type", string(e.Type), "conversation_id", string(e.ConversationID), "err", err.Error())
	}
}

// FreshConnection is how long after its $connect a connection's 410 is
// not taken as gone: API Gateway answers 410 while $connect has not
// finished, and the record written by that $connect must stay. A
// connection really gone that young is removed by $disconnect or its TTL.
const FreshConnection = 30 * time.Second

// ErrIncomplete is NotifyDelivered's answer when some connection's push
// failed in a way a later attempt may fix (throttled after the SDK's
// retries, 5xx, out of time).
var ErrIncomplete = errors.New("realtime: some pushes failed")

var _ chat.Deliverer = (*Notifier)(nil)

// NotifyDelivered is Notify for the send path (chat.Deliverer): it also
// says whether every connection of the audience got the frame (or is
// gone), so that the sender leaves the conversation's head behind when
// one did not, and the delivery backstop pushes again.
func (n *Notifier) NotifyDelivered(ctx context.Context, e chat.Event) error {
	f := FrameOf(e)
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("realtime: marshal event: %w", err)
	}
	aud, ok := audienceOf(e)
	if !ok {
		return nil
	}
	aud.Exclude = originOf(ctx)
	out, err := n.deliver(ctx, aud, b, &f)
	if err != nil {
		return err
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("%w: %d of %d connections", ErrIncomplete, len(out.Failed), out.Sent+out.Gone+len(out.Failed))
	}
	return nil
}

// audienceOf decides who hears of an event: both participants of a DM;
// every member of a group (plus Users, who may have just left); but for a
// group read receipt only the reader's own devices, since telling every
// member of a large group about every read would cost a fan-out per read.
func audienceOf(e chat.Event) (Audience, bool) {
	ref, err := chat.ParseConversationID(string(e.ConversationID))
	switch {
	case err == nil && ref.Kind == chat.KindDM:
		return Audience{Users: []string{ref.A, ref.B}}, true
	case e.Type == chat.EventConversationRead:
		return Audience{Users: []string{e.Actor}}, e.Actor != ""
	case e.GroupID != "":
		return Audience{Group: e.GroupID, Users: e.Users}, true
	}
	return Audience{}, false
}

// Deliver pushes frame to every connection of the audience. Groups larger
// than InlineMax are handed to the fan-out queue. The error reports only
// a failure to find the audience or to queue it; individual pushes are
// logged and counted, and a stale connection (410) is deleted.
func (n *Notifier) Deliver(ctx context.Context, aud Audience, frame []byte) error {
	_, err := n.deliver(ctx, aud, frame, nil)
	return err
}

// deliver is Deliver; for an event frame ev (nil for other frames) it
// also reports the audience's offline users. A large group's are reported
// by the fan-out worker, chunk by chunk.
func (n *Notifier) deliver(ctx context.Context, aud Audience, frame []byte, ev *EventFrame) (Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	now := n.now()
	var targets []Target
	var audience []string
	if aud.Group == "" {
		t, err := n.directTargets(ctx, aud.Users, now)
		if err != nil {
			return Outcome{}, err
		}
		targets, audience = t, aud.Users
	} else {
		ids, next, err := n.store.GroupMemberIDs(ctx, aud.Group, n.cfg.InlineMax+1, "")
		if err != nil {
			return Outcome{}, err
		}
		// Users matter too: a dissolved group has no members left, only
		// the former ones in Users.
		large := len(ids) > n.cfg.InlineMax || len(aud.Users) > n.cfg.InlineMax
		switch {
		case large && aud.Ephemeral:
			return Outcome{}, ErrAudienceTooLarge
		case large && n.queue != nil:
			return Outcome{}, n.queue.Enqueue(ctx, planJobs(aud, frame))
		}
		for next != "" { // no queue configured: page through inline
			var more []string
			if more, next, err = n.store.GroupMemberIDs(ctx, aud.Group, 1000, next); err != nil {
				return Outcome{}, err
			}
			ids = append(ids, more...)
		}
		audience = append(ids, aud.Users...)
		pres, err := n.store.Presence(ctx, audience, now)
		if err != nil {
			return Outcome{}, err
		}
		targets = targetsOf(pres)
	}
	// A user's group message is held back from those who blocked them
	// (blocks.go): no push, no offline notification.
	held, err := n.blockers(ctx, ev, audience)
	if err != nil {
		return Outcome{}, err
	}
	aud.ExcludeUsers = append(slices.Clone(aud.ExcludeUsers), held...)
	out := n.pushAll(ctx, filter(targets, aud), frame)
	if ev != nil {
		n.reportOffline(ctx, *ev, withoutExcluded(audience, aud.ExcludeUsers), out)
	}
	return out, nil
}

func withoutExcluded(users, excluded []string) []string {
	if len(excluded) == 0 {
		return users
	}
	skip := map[string]bool{}
	for _, u := range excluded {
		skip[u] = true
	}
	var out []string
	for _, u := range users {
		if !skip[u] {
			out = append(out, u)
		}
	}
	return out
}

// directTargets finds each user's connections with one Query per user
// (in parallel): the access pattern of a DM.
func (n *Notifier) directTargets(ctx context.Context, users []string, now time.Time) ([]Target, error) {
	users = uniq(users)
	results := make([][]Connection, len(users))
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { results[i], errs[i] = n.store.UserConnections(ctx, u, now) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Target
	for _, cs := range results {
		for _, c := range cs {
			out = append(out, Target{User: c.UserID, Conn: c.ConnectionID})
		}
	}
	return out, nil
}

// Target is one connection of one user.
type Target struct {
	User string `json:"u"`
	Conn string `json:"c"`
}

func targetsOf(pres map[string]Presence) []Target {
	var out []Target
	for _, p := range pres {
		for _, c := range p.Conns {
			out = append(out, Target{User: p.UserID, Conn: c})
		}
	}
	return out
}

func filter(ts []Target, aud Audience) []Target {
	skip := map[string]bool{}
	for _, u := range aud.ExcludeUsers {
		skip[u] = true
	}
	out := ts[:0]
	for _, t := range ts {
		if t.Conn != aud.Exclude && !skip[t.User] {
			out = append(out, t)
		}
	}
	return out
}

// Outcome counts what one batch of pushes did.
type Outcome struct {
	Sent, Gone int
	// Delivered are the users at least one of whose connections got the
	// frame (a user may appear more than once).
	Delivered []string
	// Failed are the targets whose push failed in a way that may succeed
	// later (throttled after the client's retries, 5xx, network).
	Failed []Target
}

// pushAll pushes frame to every target, at most Concurrency at a time.
// One failing target never stops the others. A 410 deletes that target's
// record and presence entry - never anyone else's.
func (n *Notifier) pushAll(ctx context.Context, targets []Target, frame []byte) Outcome {
	var mu sync.Mutex
	var out Outcome
	sem := make(chan struct{}, n.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, t := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := n.push.Push(ctx, t.Conn, frame)
			// A 410 from a connection still in its first FreshConnection
			// is a $connect not finished yet: its record stays, and the
			// push counts as failed, to be made again (the backstop or
			// the fan-out's retry), not as gone.
			fresh := false
			if errors.Is(err, ErrGone) {
				// Detach from the delivery's deadline: the clean-up is
				// cheap and must not be lost because the push was slow.
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				now := n.now()
				deleted, derr := n.store.DeleteStaleConnection(cctx, t.User, t.Conn, now.Add(-FreshConnection), now)
				switch {
				case derr != nil:
					n.log.WarnContext(ctx, "stale connection clean-up failed", "connection_id", t.Conn, "user_id", t.User, "err", derr.Error())
				case deleted:
					n.log.InfoContext(ctx, "stale connection removed", "connection_id", t.Conn, "user_id", t.User)
				default:
					fresh = true
					n.log.InfoContext(ctx, "push to a connection not connected yet: kept, to push again", "connection_id", t.Conn, "user_id", t.User)
				}
			} else if err != nil {
				n.log.WarnContext(ctx, "push failed", "connection_id", t.Conn, "user_id", t.User, "retryable", Retryable(err), "err", err.Error())
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out.Sent++
				out.Delivered = append(out.Delivered, t.User)
			case fresh:
				out.Failed = append(out.Failed, t)
			case errors.Is(err, ErrGone):
				out.Gone++
			case Retryable(err):
				out.Failed = append(out.Failed, t)
			}
		})
	}
	wg.Wait()
	return out
}

// CloseUser disconnects every connection of a user (a deleted user) and
// removes the records; used as users.Service.OnDelete.
func (n *Notifier) CloseUser(ctx context.Context, userID string) {
	now := n.now()
	conns, err := n.store.UserConnections(ctx, userID, now)
	if err != nil {
		n.log.ErrorContext(ctx, "close user: list connections", "user_id", userID, "err", err.Error())
		return
	}
	for _, c := range conns {
		if err := n.push.Close(ctx, c.ConnectionID); err != nil {
			n.log.WarnContext(ctx, "close user: delete connection", "connection_id", c.ConnectionID, "err", err.Error())
		}
		if err := n.store.DeleteConnection(ctx, userID, c.ConnectionID, now); err != nil {
			n.log.WarnContext(ctx, "close user: delete record", "connection_id", c.ConnectionID, "err", err.Error())
		}
	}
	if len(conns) > 0 {
		n.log.InfoContext(ctx, "closed user connections", "user_id", userID, "connections", len(conns))
	}
}

// Presence reports the presence of up to 100 users (one BatchGetItem).
func (n *Notifier) Presence(ctx context.Context, ids []string) (map[string]Presence, error) {
	return n.store.Presence(ctx, ids, n.now())
}

func uniq(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
