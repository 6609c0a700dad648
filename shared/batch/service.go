package batch

import (
	"log/slog"
	"time"

	"github.com/tokenim/tokenim/shared/cursor"
)

// Config holds the per-deployment (per-app) limits; template.yaml sets them.
type Config struct {
	// MaxActiveJobs: jobs queued or running at once (BATCH_MAX_ACTIVE_JOBS).
	MaxActiveJobs int
	// MaxRowsPerDay: valid rows submitted per UTC day (BATCH_MAX_ROWS_PER_DAY).
	MaxRowsPerDay int
	// InlineMaxRows: jobs with at most this many valid rows run inside the
	// submit call; negative disables inline runs (BATCH_INLINE_MAX_ROWS).
	InlineMaxRows int
}

// Defaults.
const (
	DefaultMaxActiveJobs = 5
	DefaultMaxRowsPerDay = 1_000_000
	// SlotGrace: a concurrency slot younger than this is never reclaimed
	// (its job record may not be written yet).
	SlotGrace = 2 * time.Minute
	// EnqueueMargin is kept free at the end of a submit call to close the
	// chunks that could not be queued.
	EnqueueMargin = 5 * time.Second
	// StallAfter: an unfinished job with no chunk committed for this long
	// lost its chunks (a submit that crashed mid-enqueue); its slot is
	// reclaimed. Every queued chunk ends within 5 deliveries x 6 minutes.
	StallAfter = time.Hour
)

// Service holds the batch use cases behind the REST routes.
type Service struct {
	store   Store
	queue   Queue
	proc    *Processor
	cursors *cursor.Codec
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	backoff Backoff
}

// NewService builds the service; proc runs inline jobs and closes chunks
// that cannot be queued.
func NewService(s Store, q Queue, proc *Processor, c *cursor.Codec, cfg Config, log *slog.Logger) *Service {
	if cfg.MaxActiveJobs <= 0 {
		cfg.MaxActiveJobs = DefaultMaxActiveJobs
	}
	if cfg.MaxRowsPerDay <= 0 {
		cfg.MaxRowsPerDay = DefaultMaxRowsPerDay
	}
	if cfg.InlineMaxRows == 0 {
		cfg.InlineMaxRows = InlineMaxRows
	}
	return &Service{store: s, queue: q, proc: proc, cursors: c, cfg: cfg, log: log, now: proc.now, backoff: proc.backoff}
}
