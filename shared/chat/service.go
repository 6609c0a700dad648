package chat

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/cursor"
	"github.com/tokenim/tokenim/shared/ratelimit"
)

// Store is what the use cases need from storage: groups, conversations
// and messages (dynamo.Chat implements it).
type Store interface {
	GroupStore
	ConversationStore
	MessageStore
}

// GroupStore stores groups and their members.
type GroupStore interface {
	CreateGroup(ctx context.Context, g Group, members []Member) (*Group, error)
	// FinishGroupCreate clears Incomplete once a retried create has added
	// the members its first attempt did not.
	FinishGroupCreate(ctx context.Context, gid string) error
	GetGroup(ctx context.Context, gid string) (*Group, error)
	UpdateGroup(ctx context.Context, gid string, p GroupPatch, now time.Time) (Group, error)
	DissolveGroup(ctx context.Context, gid string, now time.Time) (bool, error)
	PurgeMembers(ctx context.Context, gid string) ([]string, error)
	GetMembers(ctx context.Context, gid string, uids []string) (map[string]Member, error)
	AddMembers(ctx context.Context, gid string, members []Member, max int, read ReadMark) error
	RemoveMember(ctx context.Context, gid, uid string, role Role) error
	UpdateMember(ctx context.Context, gid, uid string, expect Role, role *Role, muted *bool) (Member, error)
	TransferOwner(ctx context.Context, gid, from, to string, now time.Time) error
	// ListMembers returns up to limit members from page (nil: the first)
	// and the adapter's opaque token for the next page (nil: none).
	ListMembers(ctx context.Context, gid string, limit int, page []byte) ([]Member, []byte, error)
	MissingUsers(ctx context.Context, ids []string) ([]string, error)
}

// ConversationStore stores conversation heads and each user's entries
// (read state) in them.
type ConversationStore interface {
	ReadConversation(ctx context.Context, q ConvQuery) (ConvView, error)
	GetConvMetas(ctx context.Context, ids []ConversationID) (map[ConversationID]ConvMeta, error)
	ListEntries(ctx context.Context, uid string) ([]Entry, error)
	GetEntries(ctx context.Context, keys []EntryKey) (map[EntryKey]Entry, error)
	EnsureDMEntries(ctx context.Context, ref ConvRef, now time.Time) error
	MarkRead(ctx context.Context, uid string, conv ConversationID, read ReadMark) (Entry, error)
}

// MessageStore stores messages and their client_msg_id claims.
type MessageStore interface {
	ClaimClientMsgID(ctx context.Context, c Claim) (*Claim, error)
	MoveClaim(ctx context.Context, c Claim, from int64) (*Claim, error)
	PutMessage(ctx context.Context, m Message) (*Message, error)
	LatestSeq(ctx context.Context, conv ConversationID) (seq, count int64, err error)
	MessageCount(ctx context.Context, conv ConversationID, seq int64) (int64, error)
	GetMessage(ctx context.Context, conv ConversationID, seq int64) (*Message, error)
	AdvanceConversation(ctx context.Context, ref ConvRef, m Message, preview string) error
	History(ctx context.Context, conv ConversationID, lo, hi int64, ascending bool, limit int) ([]Message, error)
	ChangeMessage(ctx context.Context, ch MessageChange) (Message, *Message, error)
	ListClaims(ctx context.Context, conv ConversationID, prefix string) ([]Claim, error)
	EraseMessage(ctx context.Context, conv ConversationID, seq int64, id string, at time.Time) error
	// GetMessages reads messages by seq; absent ones are not in the map.
	GetMessages(ctx context.Context, conv ConversationID, seqs []int64) (map[int64]Message, error)
	// RecordThreadReply indexes reply under its thread's root and raises
	// the root's Thread to the index's count; it is idempotent, so a
	// retry or the backstop may call it again.
	RecordThreadReply(ctx context.Context, conv ConversationID, root int64, reply Message) (Thread, error)
	// ThreadReplies returns the seqs of up to limit replies to root with
	// a seq above after, oldest first.
	ThreadReplies(ctx context.Context, conv ConversationID, root, after int64, limit int) ([]int64, error)
	// React applies a reaction change in one conditional write and returns
	// the message as changed. If it changes nothing (the user had reacted
	// so already, or had not) or a condition fails, it returns the message
	// as it stands (nil if none) and ErrConflict: the caller tells which.
	React(ctx context.Context, ch ReactionChange) (Message, *Message, error)
	// RecordMentions records that the message at seq mentions users (on
	// their entries; one who is no longer a member is skipped) and, with
	// all, @all (on the head, which keeps the newest MaxMentionAllKept).
	// Idempotent: a seq is recorded once however often.
	RecordMentions(ctx context.Context, conv ConversationID, seq int64, users []string, all bool) error
	// PinMessage pins p on the conversation's head unless it has max pins
	// already (ErrConflict); pinning a pinned seq keeps its first pin.
	// UnpinMessage unpins seq (nothing if it is not pinned). Both return
	// the pins as they stand after.
	PinMessage(ctx context.Context, conv ConversationID, p Pin, max int) ([]Pin, error)
	UnpinMessage(ctx context.Context, conv ConversationID, seq int64) ([]Pin, error)
}

// Service holds the group, conversation and message use cases.
type Service struct {
	store    Store
	cursors  *cursor.Codec
	cfg      Config
	notifier Notifier
	guard    SendGuard // nil: every message is stored as sent
	audit    *audit.Recorder
	log      *slog.Logger
	now      func() time.Time
	// groupsPerUser limits the groups a user token creates (GroupLimits).
	groupsPerUser *ratelimit.Limiter
}

// GroupLimits bound the groups one user creates: 20 a day, at most 10 in
// a burst. Like the send limits (shared/moderation), the buckets live in
// each sandbox: no request, precision per sandbox (docs/permissions.md,
// "Rate limits"). Admin tokens and batch imports are not limited.
var GroupLimits = []ratelimit.Limit{{N: 20, Per: 24 * time.Hour, Burst: 10}}

// Options are optional collaborators of the service.
type Options struct {
	Notifier Notifier  // nil: NopNotifier
	Guard    SendGuard // nil: no screening before a message is stored
	// Audit records admin-token changes and app-wide grants used
	// (audited.go); nil records nothing (workers, readers).
	Audit *audit.Recorder
	Log   *slog.Logger     // nil: slog.Default()
	Now   func() time.Time // nil: time.Now
}

// NewService builds the service.
func NewService(s Store, c *cursor.Codec, cfg Config, opt Options) *Service {
	svc := &Service{store: s, cursors: c, cfg: cfg.withDefaults(), notifier: opt.Notifier, guard: opt.Guard, audit: opt.Audit, log: opt.Log, now: opt.Now}
	if svc.notifier == nil {
		svc.notifier = NopNotifier{}
	}
	if svc.log == nil {
		svc.log = slog.Default()
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	svc.groupsPerUser = ratelimit.New(svc.now, GroupLimits...)
	return svc
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) notify(ctx context.Context, e Event) {
	if e.At.IsZero() {
		e.At = ms(s.now())
	}
	s.notifier.Notify(ctx, e)
}

// notifyDelivered notifies e and reports whether it reached everyone it
// was meant for (always nil for a notifier that cannot tell).
func (s *Service) notifyDelivered(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = ms(s.now())
	}
	if d, ok := s.notifier.(Deliverer); ok {
		return d.NotifyDelivered(ctx, e)
	}
	s.notifier.Notify(ctx, e)
	return nil
}

func (s *Service) clock() time.Time { return ms(s.now()) }
