package batch

import (
	"context"
	"errors"
	"time"

	"github.com/tokenim/tokenim/shared/users"
)

// Store is what batch needs from storage (dynamo.Jobs implements it). A
// failed call has been retried by the SDK (awsclient.DefaultPolicy) and
// dynamo.Jobs retries unprocessed batch entries itself; this package retries
// only ErrConflict (Backoff).
type Store interface {
	// PutJob writes a new job record (ErrJobExists if its id is taken).
	PutJob(ctx context.Context, j Job) error
	// GetJob reads a job (strongly consistent); not_found if absent.
	GetJob(ctx context.Context, id string) (Job, error)
	// PutChunkErrors stores validation errors per chunk range, at most 25
	// lists (one BatchWriteItem; the adapter retries what DynamoDB leaves
	// unprocessed, so an error means not all were stored).
	PutChunkErrors(ctx context.Context, jobID string, lists []ChunkErrors, expires time.Time) error
	// ChunkStatus reads the job (nil if absent) and whether the chunk's
	// marker exists, in one BatchGetItem.
	ChunkStatus(ctx context.Context, jobID string, chunk int) (*Job, bool, error)
	// CommitChunk puts the chunk's marker and adds its counts to the job in
	// one transaction, unless the marker exists (then it returns false).
	CommitChunk(ctx context.Context, c Commit) (bool, error)
	// ErrorsFrom reads whole chunks' error lists, starting at chunk from,
	// until at least want errors are read. next is the chunk to continue at,
	// or -1 at the end.
	ErrorsFrom(ctx context.Context, jobID string, from, want int) (lists []ChunkErrors, next int, err error)

	// ReserveRows adds n to the day's row count unless that would pass max.
	ReserveRows(ctx context.Context, day string, n, max int, expires time.Time) (bool, error)
	ReleaseRows(ctx context.Context, day string, n int) error
	// AcquireSlot records jobID as active unless max jobs are; it then
	// returns the active jobs and when they started.
	AcquireSlot(ctx context.Context, jobID string, max int, now time.Time) (bool, map[string]time.Time, error)
	ReleaseSlot(ctx context.Context, jobID string) error

	// CreateUserForJob writes u with job_id = jobID unless the id exists.
	CreateUserForJob(ctx context.Context, u users.User, jobID string) (Outcome, error)
	// ClaimIdempotencyKey records key -> fingerprint unless key exists; it
	// then returns the existing fingerprint (users.Store has the same).
	ClaimIdempotencyKey(ctx context.Context, scope, key, fingerprint string, ttl time.Duration) (string, error)
	// FindUsers reads up to 100 ids (consistent): the ones that exist, with
	// the job that created each ("" if none). The adapter retries keys
	// DynamoDB leaves unprocessed, so an error means some were not read.
	FindUsers(ctx context.Context, ids []string) (found map[string]string, err error)
}

// Outcome is what a conditional create found.
type Outcome int

// Outcomes.
const (
	// Created: this call wrote the item.
	Created Outcome = iota + 1
	// CreatedEarlier: the item exists and records this job: an earlier
	// delivery of the same chunk wrote it.
	CreatedEarlier
	// Exists: the item existed before the job (or another job made it).
	Exists
)

// ChunkErrors is the error list of one chunk range.
type ChunkErrors struct {
	Chunk  int
	Errors []RowError
}

// Commit is one chunk's final result.
type Commit struct {
	JobID   string
	Chunk   int
	Created int
	Errors  []RowError // the chunk's failed rows
	By      string     // worker, inline, dead-letter, submit
	At      time.Time
	Expires time.Time
}

// ErrJobExists: a job with this id exists (a concurrent retry made it).
var ErrJobExists = errors.New("batch: job exists")

// ErrConflict marks a write that lost a race and may simply be retried
// (a transaction conflict on the job record).
var ErrConflict = errors.New("batch: concurrent update, retry")
