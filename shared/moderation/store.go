// Package moderation holds app-wide moderation: bans, users' blocklists,
// the word filter, reports, and users' app-wide roles; and the send
// guard (guard.go) that applies them, with the per-user rate limits, to
// every message before it is stored. It imports no AWS: the stores below
// are ports, with a memory fake (shared/memstore) and a DynamoDB adapter
// (shared/aws/dynamo) held to one contract (shared/storetest).
package moderation

import (
	"context"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
)

// BanStore keeps bans and roles on the user (they go with it on delete).
type BanStore interface {
	auth.UserStatuses
	// SetBan bans an existing user (false: no such user).
	SetBan(ctx context.Context, userID string, b auth.Ban) (bool, error)
	// ClearBan lifts a ban (false: no such user).
	ClearBan(ctx context.Context, userID string) (bool, error)
	// SetRole sets a user's app-wide role, "" for the built-in user
	// role (false: no such user).
	SetRole(ctx context.Context, userID, role string) (bool, error)
}

// Block is one entry of a user's blocklist.
type Block struct {
	UserID    string `json:"user_id"`    // who blocks
	BlockedID string `json:"blocked_id"` // who is blocked
	At        int64  `json:"-"`          // ms
}

// BlockStore keeps blocklists.
type BlockStore interface {
	PutBlock(ctx context.Context, b Block) error
	DeleteBlock(ctx context.Context, userID, blockedID string) (bool, error)
	// ListBlocks returns up to limit entries in blocked-id order after after.
	ListBlocks(ctx context.Context, userID, after string, limit int) ([]Block, bool, error)
	// IsBlocked reports whether userID has blocked otherID.
	IsBlocked(ctx context.Context, userID, otherID string) (bool, error)
	// BlockersOf returns those of recipients who have blocked sender (in
	// any order; a group push reads them: one BatchGetItem per 100).
	BlockersOf(ctx context.Context, sender string, recipients []string) ([]string, error)
}

// WordFilter is the app's word list and what to do on a match.
type WordFilter struct {
	Action    string   `json:"action"` // FilterMask or FilterReject
	Words     []string `json:"words"`
	UpdatedAt int64    `json:"-"`
	UpdatedBy string   `json:"-"`
}

// WordStore keeps the word filter (one item).
type WordStore interface {
	GetWordFilter(ctx context.Context) (WordFilter, error) // zero if never set
	PutWordFilter(ctx context.Context, f WordFilter) error
}

// Report states.
const (
	ReportOpen     = "open"
	ReportResolved = "resolved"
)

// Report is a user's report of a message.
type Report struct {
	ReportID       string
	ReporterID     string
	ConversationID string
	Seq            int64
	SenderID       string // the reported message's sender, as it was
	Text           string // the reported message's text, as it was
	Reason         string
	Status         string
	CreatedAt      int64 // ms
	ResolvedBy     string
	Resolution     string
	ResolvedAt     int64
}

// ReportStore keeps reports.
type ReportStore interface {
	PutReport(ctx context.Context, r Report) error
	GetReport(ctx context.Context, id string) (*Report, error)
	// ListReports returns up to limit reports, newest first, before the
	// report id before ("" for the newest), with status ("" for any).
	ListReports(ctx context.Context, status, before string, limit int) ([]Report, bool, error)
	// ResolveReport marks an open report resolved; nil if there is no such
	// report, ok=false if it was resolved already.
	ResolveReport(ctx context.Context, id, by, resolution string, at int64) (r *Report, ok bool, err error)
}

// Store is every moderation port: one adapter implements them all.
type Store interface {
	BanStore
	BlockStore
	WordStore
	ReportStore
	permissions.RoleStore
}
