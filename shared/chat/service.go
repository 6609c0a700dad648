package chat

import (
	"context"
	"time"

	"github.com/tokenim/tokenim/shared/cursor"
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
}

// Service holds the group, conversation and message use cases.
type Service struct {
	store    Store
	cursors  *cursor.Codec
	cfg      Config
	notifier Notifier
	now      func() time.Time
}

// Options are optional collaborators of the service.
type Options struct {
	Notifier Notifier         // nil: NopNotifier
	Now      func() time.Time // nil: time.Now
}

// NewService builds the service.
func NewService(s Store, c *cursor.Codec, cfg Config, opt Options) *Service {
	svc := &Service{store: s, cursors: c, cfg: cfg.withDefaults(), notifier: opt.Notifier, now: opt.Now}
	if svc.notifier == nil {
		svc.notifier = NopNotifier{}
	}
	if svc.now == nil {
		svc.now = time.Now
	}
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

func (s *Service) clock() time.Time { return ms(s.now()) }
