package push

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/idempotency"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/users"
)

// BroadcastConfig are the deployment's broadcast limits.
type BroadcastConfig struct {
	PerDay    int           // broadcasts per UTC day (NOTIFICATIONS_PER_DAY)
	Retention time.Duration // how long a user's notification is kept
}

func (c BroadcastConfig) withDefaults() BroadcastConfig {
	if c.PerDay <= 0 {
		c.PerDay = DefaultDailyQuota
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetentionDay * 24 * time.Hour
	}
	return c
}

// Broadcasts holds the notification API's use cases.
type Broadcasts struct {
	store BroadcastStore
	jobs  queue.BatchSender
	cfg   BroadcastConfig
	now   func() time.Time
}

// NewBroadcasts builds the use cases; now nil is time.Now.
func NewBroadcasts(s BroadcastStore, jobs queue.BatchSender, cfg BroadcastConfig, now func() time.Time) *Broadcasts {
	if now == nil {
		now = time.Now
	}
	return &Broadcasts{store: s, jobs: jobs, cfg: cfg.withDefaults(), now: now}
}

// fingerprint identifies a submit's content for its Idempotency-Key.
func fingerprint(b Broadcast) string {
	return idempotency.Fingerprint(struct {
		T, B, L string
		D       map[string]string
		A       Audience
	}{b.Title, b.Body, b.Link, b.Data, b.Audience})
}

// Submit creates a broadcast job (admin) and queues its plan. With an
// Idempotency-Key, a retry returns the first job (replayed) and notifies
// nobody again, whether or not the day's quota is used up since; the same
// key with another body is idempotency_key_reused. Each new job counts
// against the daily quota.
func (s *Broadcasts) Submit(ctx context.Context, p auth.Principal, b Broadcast, key string) (Broadcast, bool, error) {
	if err := p.Admin(); err != nil {
		return Broadcast{}, false, err
	}
	if err := b.Validate(); err != nil {
		return Broadcast{}, false, err
	}
	if key != "" {
		if err := idempotency.ValidateKey(key); err != nil {
			return Broadcast{}, false, err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	b.ID, b.CreatedAt = NewBroadcastID(now), now
	fp := fingerprint(b)
	if key != "" {
		// A retry is answered before the quota is looked at: it creates
		// nothing, so it costs no unit and is not refused when the day's
		// quota is spent.
		oldID, oldFP, err := s.store.BroadcastKey(ctx, key)
		if err != nil {
			return Broadcast{}, false, err
		}
		if oldID != "" {
			return s.replay(ctx, oldID, oldFP, fp)
		}
	}
	if err := s.store.ConsumeQuota(ctx, now.Format(time.DateOnly), s.cfg.PerDay); err != nil {
		return Broadcast{}, false, err
	}
	oldID, oldFP, err := s.store.CreateBroadcast(ctx, b, key, fp)
	if err != nil {
		return Broadcast{}, false, err
	}
	if oldID != "" {
		// A concurrent first submit with the same key won the create; this
		// call's quota unit is the price of not holding a lock.
		return s.replay(ctx, oldID, oldFP, fp)
	}
	if err := SendJobs(ctx, s.jobs, []Job{{Kind: JobBroadcastPlan, BroadcastID: b.ID}}); err != nil {
		return Broadcast{}, false, err
	}
	return b.WithState(), false, nil
}

// replay answers a submit whose Idempotency-Key made job oldID.
func (s *Broadcasts) replay(ctx context.Context, oldID, oldFP, fp string) (Broadcast, bool, error) {
	if oldFP != fp {
		return Broadcast{}, false, apierror.New(apierror.IdempotencyKeyReused, "This Idempotency-Key was used with a different request.")
	}
	old, err := s.store.GetBroadcast(ctx, oldID)
	if err != nil {
		return Broadcast{}, false, err
	}
	if !old.Planned && old.ChunksTotal == 0 {
		// The first call may have died before queuing its plan; the plan
		// is idempotent, so queue it again.
		if err := SendJobs(ctx, s.jobs, []Job{{Kind: JobBroadcastPlan, BroadcastID: old.ID}}); err != nil {
			return Broadcast{}, false, err
		}
	}
	return old.WithState(), true, nil
}

// Get returns a broadcast with its progress and counts (admin).
func (s *Broadcasts) Get(ctx context.Context, p auth.Principal, id string) (Broadcast, error) {
	if err := p.Admin(); err != nil {
		return Broadcast{}, err
	}
	if err := ValidateBroadcastID(id); err != nil {
		return Broadcast{}, err
	}
	b, err := s.store.GetBroadcast(ctx, id)
	return b.WithState(), err
}

// InboxPage is one page of a user's notifications.
type InboxPage struct {
	Notifications []InboxItem `json:"notifications"`
	NextCursor    string      `json:"next_cursor,omitempty"`
	// UnreadCount is how many of all the user's notifications (not only
	// this page's) are unread.
	UnreadCount int `json:"unread_count"`
}

// Inbox limits.
const (
	DefaultInboxLimit = 20
	MaxInboxLimit     = 100
)

// Inbox lists a user's notifications newest first (the user or admin).
// The cursor is the last notification id of the previous page.
func (s *Broadcasts) Inbox(ctx context.Context, p auth.Principal, userID string, limit int, cursor string) (InboxPage, error) {
	if err := users.ValidateID("user_id", userID); err != nil {
		return InboxPage{}, err
	}
	if err := p.SelfOrAdmin(userID); err != nil {
		return InboxPage{}, err
	}
	switch {
	case limit == 0:
		limit = DefaultInboxLimit
	case limit > MaxInboxLimit:
		return InboxPage{}, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxInboxLimit)
	}
	var page []byte
	if cursor != "" {
		if ValidateBroadcastID(cursor) != nil {
			return InboxPage{}, apierror.New(apierror.InvalidCursor, "cursor is not a cursor this listing returned.")
		}
		page = []byte(cursor)
	}
	items, next, err := s.store.ListInbox(ctx, userID, limit, page)
	if err != nil {
		return InboxPage{}, err
	}
	unread, err := s.store.UnreadIDs(ctx, userID, "")
	if err != nil {
		return InboxPage{}, err
	}
	out := InboxPage{Notifications: items, NextCursor: string(next), UnreadCount: len(unread)}
	if out.Notifications == nil {
		out.Notifications = []InboxItem{}
	}
	for i := range out.Notifications {
		out.Notifications[i].Read = out.Notifications[i].ReadAt != nil
	}
	return out, nil
}

// MarkReadRequest names the notifications to mark read: exactly one of
// up to MaxInboxLimit ids, every one at or before UpTo, or All.
type MarkReadRequest struct {
	IDs  []string `json:"notification_ids,omitempty"`
	UpTo *string  `json:"up_to,omitempty"` // a pointer: "up_to": "" is given, and invalid
	All  bool     `json:"all,omitempty"`
}

// MarkReadResult is what MarkRead changed and the unread count after it.
type MarkReadResult struct {
	Marked      int `json:"marked"`
	UnreadCount int `json:"unread_count"`
}

// MarkRead marks a user's notifications read (the user or admin). Ids
// the user does not have, or has read already, are skipped: a retry
// marks nothing more and returns the same count of unread.
func (s *Broadcasts) MarkRead(ctx context.Context, p auth.Principal, userID string, r MarkReadRequest) (MarkReadResult, error) {
	if err := users.ValidateID("user_id", userID); err != nil {
		return MarkReadResult{}, err
	}
	if err := p.SelfOrAdmin(userID); err != nil {
		return MarkReadResult{}, err
	}
	field := func(f, format string, args ...any) error {
		return apierror.New(apierror.ValidationFailed, format, args...).WithDetails(map[string]string{"field": f})
	}
	n := 0
	for _, set := range []bool{len(r.IDs) > 0, r.UpTo != nil, r.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return MarkReadResult{}, field("notification_ids", "Give exactly one of notification_ids, up_to, all.")
	}
	if len(r.IDs) > MaxInboxLimit {
		return MarkReadResult{}, field("notification_ids", "notification_ids holds at most %d ids.", MaxInboxLimit)
	}
	ids := r.IDs
	for _, id := range ids {
		if ValidateBroadcastID(id) != nil {
			return MarkReadResult{}, apierror.New(apierror.InvalidID, "notification_ids holds %q, not a notification id.", id).
				WithDetails(map[string]string{"field": "notification_ids"})
		}
	}
	upTo := ""
	if r.UpTo != nil {
		upTo = *r.UpTo
		if ValidateBroadcastID(upTo) != nil {
			return MarkReadResult{}, apierror.New(apierror.InvalidID, "up_to is not a notification id.").WithDetails(map[string]string{"field": "up_to"})
		}
	}
	if r.UpTo != nil || r.All {
		var err error
		if ids, err = s.store.UnreadIDs(ctx, userID, upTo); err != nil {
			return MarkReadResult{}, err
		}
	}
	marked := 0
	if len(ids) > 0 {
		var err error
		if marked, err = s.store.MarkRead(ctx, userID, dedupe(ids), s.now().UTC().Truncate(time.Millisecond)); err != nil {
			return MarkReadResult{}, err
		}
	}
	unread, err := s.store.UnreadIDs(ctx, userID, "")
	if err != nil {
		return MarkReadResult{}, err
	}
	return MarkReadResult{Marked: marked, UnreadCount: len(unread)}, nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// AudienceSource pages through the members of a group and through all
// users (the worker's view of the groups and users tables).
type AudienceSource interface {
	GroupMemberIDs(ctx context.Context, gid string, limit int, after string) ([]string, string, error)
	UserIDs(ctx context.Context, limit int, after string) ([]string, string, error)
}

// LiveDeliverer pushes a frame to users' WebSocket connections and says
// who got it (realtime.Notifier.DeliverUsers).
type LiveDeliverer interface {
	DeliverUsers(ctx context.Context, users []string, frame []byte) (map[string]bool, error)
}

// Broadcaster runs broadcast jobs in the push worker.
type Broadcaster struct {
	store    BroadcastStore
	jobs     queue.BatchSender
	audience AudienceSource
	live     LiveDeliverer
	push     *Deliverer
	cfg      BroadcastConfig
	log      *slog.Logger
}

// NewBroadcaster builds the worker side of broadcasts.
func NewBroadcaster(s BroadcastStore, jobs queue.BatchSender, a AudienceSource, live LiveDeliverer, d *Deliverer, cfg BroadcastConfig, log *slog.Logger) *Broadcaster {
	return &Broadcaster{store: s, jobs: jobs, audience: a, live: live, push: d, cfg: cfg.withDefaults(), log: log}
}

// EventNotification is the WebSocket event of a broadcast (docs/websocket.md).
const EventNotification = "notification"

// NotificationFrame is the frame a broadcast's online users receive.
type NotificationFrame struct {
	Type           string            `json:"type"`
	NotificationID string            `json:"notification_id"`
	Title          string            `json:"title"`
	Body           string            `json:"body"`
	Data           map[string]string `json:"data,omitempty"`
	Link           string            `json:"link,omitempty"`
	At             time.Time         `json:"at"`
}

// Process runs a plan or a chunk job.
func (b *Broadcaster) Process(ctx context.Context, j Job) (Outcome, error) {
	bc, err := b.store.GetBroadcast(ctx, j.BroadcastID)
	if err != nil {
		return Outcome{}, err
	}
	switch j.Kind {
	case JobBroadcastPlan:
		return Outcome{}, b.plan(ctx, bc, j)
	case JobBroadcastChunk:
		return b.chunk(ctx, bc, j)
	}
	return Outcome{}, fmt.Errorf("push: unknown job kind %q", j.Kind)
}

// plan reads one page of the audience, queues its chunks (and the next
// page's plan), then records the page: a redelivered plan queues the same
// chunks again, which count once.
func (b *Broadcaster) plan(ctx context.Context, bc Broadcast, j Job) error {
	var ids []string
	next := ""
	var err error
	switch a := bc.Audience; {
	case len(a.UserIDs) > 0:
		start := min(j.Page*PlanPage, len(a.UserIDs))
		ids = a.UserIDs[start:min(start+PlanPage, len(a.UserIDs))]
		if start+PlanPage < len(a.UserIDs) {
			next = "more"
		}
	case a.GroupID != "":
		ids, next, err = b.audience.GroupMemberIDs(ctx, a.GroupID, PlanPage, j.After)
	case a.All:
		ids, next, err = b.audience.UserIDs(ctx, PlanPage, j.After)
	}
	if err != nil {
		return err
	}
	var jobs []Job
	for i, start := 0, 0; start < len(ids); i, start = i+1, start+ChunkUsers {
		jobs = append(jobs, Job{Kind: JobBroadcastChunk, BroadcastID: bc.ID, Chunk: fmt.Sprintf("%d-%d", j.Page, i), Users: ids[start:min(start+ChunkUsers, len(ids))]})
	}
	chunks := len(jobs)
	if next != "" {
		jobs = append(jobs, Job{Kind: JobBroadcastPlan, BroadcastID: bc.ID, Page: j.Page + 1, After: next})
	}
	if err := SendJobs(ctx, b.jobs, jobs); err != nil {
		return err
	}
	return b.store.RecordPlan(ctx, bc.ID, j.Page, chunks, next == "")
}

// chunk delivers the broadcast to up to 50 users: the user's notification
// is stored (once), then sent live to their connections, else pushed to
// their devices; each user's outcome is stored, and the chunk's counts are
// added once. A redelivered chunk counts the users already done from their
// stored outcome and delivers only to the others.
func (b *Broadcaster) chunk(ctx context.Context, bc Broadcast, j Job) (Outcome, error) {
	var counts Counts
	var pending []string
	for _, u := range j.Users {
		n := InboxItem{UserID: u, ID: bc.ID, Title: bc.Title, Body: bc.Body, Data: bc.Data, Link: bc.Link, CreatedAt: bc.CreatedAt}
		outcome, _, err := b.store.ClaimRecipient(ctx, n, b.cfg.Retention)
		if err != nil {
			return Outcome{}, err
		}
		if outcome != "" {
			counts.Add(outcome)
			continue
		}
		pending = append(pending, u)
	}
	frame, err := json.Marshal(NotificationFrame{Type: EventNotification, NotificationID: bc.ID, Title: bc.Title, Body: bc.Body, Data: bc.Data, Link: bc.Link, At: bc.CreatedAt})
	if err != nil {
		return Outcome{}, err
	}
	live := map[string]bool{}
	if len(pending) > 0 {
		if live, err = b.live.DeliverUsers(ctx, pending, frame); err != nil {
			return Outcome{}, err
		}
	}
	var total Outcome
	var errs []error
	for _, u := range pending {
		outcome := OutcomeLive
		if !live[u] {
			out, err := b.push.PushUser(ctx, u, "", "bcast#"+bc.ID, func(Prefs) Alert { return broadcastAlert(bc) })
			total.add(out)
			if err != nil {
				errs = append(errs, err) // no outcome: the redelivery tries again
				continue
			}
			outcome = outcomeOf(out)
		}
		if err := b.store.SetOutcome(ctx, u, bc.ID, outcome); err != nil {
			errs = append(errs, err)
			continue
		}
		counts.Add(outcome)
	}
	if err := errors.Join(errs...); err != nil {
		return total, err
	}
	return total, b.store.RecordChunk(ctx, bc.ID, j.Chunk, counts)
}

// broadcastAlert is a broadcast's push: its title and body whatever the
// user's preview setting (it is not a private message).
func broadcastAlert(bc Broadcast) Alert {
	data := map[string]string{"type": EventNotification, "notification_id": bc.ID}
	if bc.Link != "" {
		data["link"] = bc.Link
	}
	for k, v := range bc.Data {
		if _, ok := data[k]; !ok {
			data[k] = v
		}
	}
	return Alert{Title: bc.Title, Body: bc.Body, Badge: -1, ThreadID: "notifications", CollapseID: CollapseID("bcast:"+bc.ID, 0), Data: data}
}

// outcomeOf is a user's outcome from their devices' pushes.
func outcomeOf(o Outcome) string {
	switch {
	case o.Pushed > 0 || o.Duplicate > 0:
		return OutcomePushed
	case o.NoDevice > 0:
		return OutcomeNoDevice
	case o.Quiet > 0:
		return OutcomeSuppressed
	}
	return OutcomeFailed
}

// Worker dispatches PushQueue jobs by kind.
type Worker struct {
	Messages   *Deliverer
	Broadcasts *Broadcaster
}

// Process runs one job.
func (w Worker) Process(ctx context.Context, j Job) (Outcome, error) {
	switch j.Kind {
	case JobBroadcastPlan, JobBroadcastChunk:
		if w.Broadcasts == nil {
			return Outcome{}, fmt.Errorf("push: broadcasts are not set up")
		}
		return w.Broadcasts.Process(ctx, j)
	}
	return w.Messages.Process(ctx, j)
}

// StoreAudience is the AudienceSource over the stores: group members from
// the groups table, all users from the users table (16 shards, paged).
type StoreAudience struct {
	Members interface {
		GroupMemberIDs(ctx context.Context, gid string, limit int, after string) ([]string, string, error)
	}
	Users interface {
		ListUsers(ctx context.Context, limit int, page []byte) ([]users.User, []byte, error)
	}
}

// GroupMemberIDs pages through a group's members.
func (a StoreAudience) GroupMemberIDs(ctx context.Context, gid string, limit int, after string) ([]string, string, error) {
	return a.Members.GroupMemberIDs(ctx, gid, limit, after)
}

// UserIDs pages through every user; the page token is the store's,
// base64url.
func (a StoreAudience) UserIDs(ctx context.Context, limit int, after string) ([]string, string, error) {
	var page []byte
	if after != "" {
		var err error
		if page, err = base64.RawURLEncoding.DecodeString(after); err != nil {
			return nil, "", fmt.Errorf("push: bad users page token: %w", err)
		}
	}
	us, next, err := a.Users.ListUsers(ctx, limit, page)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.UserID
	}
	return ids, base64.RawURLEncoding.EncodeToString(next), nil
}
