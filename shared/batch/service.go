package batch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/idempotency"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/cursor"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/users"
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

// SubmitInput is a submitted file.
type SubmitInput struct {
	ContentType string
	Body        []byte
	// DryRun validates and reports without writing anything.
	DryRun bool
	// IdempotencyKey makes the submit safe to retry for 24 hours: a retry
	// with the same key and file returns the first call's job (Replayed);
	// the same key with another file is idempotency_key_reused.
	IdempotencyKey string
}

// SubmitUsers validates a users file and, unless a dry run, starts its
// job. Small jobs (Config.InlineMaxRows) come back finished.
func (s *Service) SubmitUsers(ctx context.Context, p auth.Principal, in SubmitInput) (Submitted, error) {
	return submit(ctx, s, p, userSchema, in)
}

// SubmitGroups is SubmitUsers for groups.
func (s *Service) SubmitGroups(ctx context.Context, p auth.Principal, in SubmitInput) (Submitted, error) {
	return submit(ctx, s, p, groupSchema, in)
}

func submit[T any](ctx context.Context, s *Service, p auth.Principal, sch schema[T], in SubmitInput) (Submitted, error) {
	if err := p.Admin(); err != nil {
		return Submitted{}, err
	}
	if in.IdempotencyKey != "" {
		if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
			return Submitted{}, err
		}
	}
	parsed, err := parse(sch, in.ContentType, in.Body)
	if err != nil {
		return Submitted{}, err
	}
	chunks, err := makeChunks(parsed, sch.chunkRows)
	if err != nil {
		return Submitted{}, err
	}
	job := Job{Kind: sch.kind, Format: parsed.Format, Total: parsed.Total, Invalid: len(parsed.Errors), Failed: len(parsed.Errors), KeyID: p.KeyID}
	for _, c := range chunks {
		if len(c.Rows) > 0 {
			job.Chunks++
		}
	}
	if in.DryRun {
		job.DryRun = true
		job.Derive()
		job.State = StateValidated
		return withErrors(job, parsed.Errors, DryRunListedErrors), nil
	}
	if len(parsed.Items) == 0 {
		first := withErrors(job, parsed.Errors, ListedErrors)
		return Submitted{}, apierror.New(apierror.NoValidRows, "All %d rows are invalid; nothing was queued.", parsed.Total).
			WithDetails(map[string]any{"total": parsed.Total, "errors": first.Errors, "errors_truncated": first.ErrorsTruncated})
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	job.JobID, job.CreatedAt, job.ExpiresAt = newJobID(), now, now.Add(JobTTL)
	if in.IdempotencyKey != "" {
		job.JobID = idemJobID(in.IdempotencyKey)
		if replay, ok, err := s.replay(ctx, sch.kind, in, job.JobID, parsed.Errors); err != nil || ok {
			return replay, err
		}
	}
	release, err := s.reserve(ctx, job.JobID, len(parsed.Items), now)
	if err != nil {
		return Submitted{}, err
	}
	// Validation errors first, then the job: a crash in between leaves
	// only orphan error items (they expire), never a job without them.
	if err := s.putValidationErrors(ctx, job, chunks); err != nil {
		release()
		return Submitted{}, err
	}
	if err := s.backoff.Do(ctx, func() error { return s.store.PutJob(ctx, job) }); err != nil {
		release()
		if errors.Is(err, ErrJobExists) { // a concurrent retry with the same key won
			return s.replayed(ctx, job.JobID, parsed.Errors)
		}
		return Submitted{}, fmt.Errorf("batch: put job: %w", err)
	}
	var msgs []Message
	for _, c := range chunks {
		if len(c.Rows) > 0 {
			msgs = append(msgs, c.message(job))
		}
	}
	// Work stops EnqueueMargin before the call's deadline, so whatever is
	// not queued by then can still be closed before Lambda's timeout.
	work, cancel := ctx, context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok {
		work, cancel = context.WithDeadline(ctx, d.Add(-EnqueueMargin))
	}
	defer cancel()
	if len(parsed.Items) <= s.cfg.InlineMaxRows {
		msgs = s.runInline(work, msgs)
	}
	if err := s.enqueue(work, ctx, msgs); err != nil {
		return Submitted{}, err
	}
	if cur, err := s.store.GetJob(ctx, job.JobID); err == nil {
		cur.KeyID = job.KeyID
		job = cur
	}
	job.Derive()
	return withErrors(job, parsed.Errors, ListedErrors), nil
}

func withErrors(j Job, errs []RowError, n int) Submitted {
	out := Submitted{Job: j, Errors: errs, ErrorsTruncated: len(errs) > n}
	if len(errs) > n {
		out.Errors = errs[:n]
	}
	if out.Errors == nil {
		out.Errors = []RowError{}
	}
	return out
}

var jobIDPattern = regexp.MustCompile(`^job_[0-9a-f]{24}$`)

// idemJobID derives the job id from the key, so every retry names the
// same job.
func idemJobID(key string) string {
	sum := sha256.Sum256([]byte("batch-submit\x00" + key))
	return "job_" + hex.EncodeToString(sum[:12])
}

// replay claims the key for this file. A retry of an earlier submit (same
// key, same file) gets that submit's job; the same key with another file is
// refused. ok=false: go on and create the job (a first call, or a retry of
// one that died before writing its job).
func (s *Service) replay(ctx context.Context, kind Kind, in SubmitInput, jobID string, rowErrs []RowError) (Submitted, bool, error) {
	h := idempotency.NewHash()
	fmt.Fprintf(h, "%s\x00%s\x00", kind, in.ContentType)
	h.Write(in.Body)
	fp := idempotency.Sum(h)
	existing, err := s.store.ClaimIdempotencyKey(ctx, "jobs.submit", in.IdempotencyKey, fp, idempotency.TTL)
	switch {
	case err != nil:
		return Submitted{}, false, fmt.Errorf("batch: claim idempotency key: %w", err)
	case existing == "":
		return Submitted{}, false, nil
	case existing != fp:
		return Submitted{}, false, apierror.New(apierror.IdempotencyKeyReused, "This Idempotency-Key was used with a different file.")
	}
	out, err := s.replayed(ctx, jobID, rowErrs)
	if apierror.Is(err, apierror.NotFound) {
		return Submitted{}, false, nil
	}
	return out, err == nil, err
}

func (s *Service) replayed(ctx context.Context, jobID string, rowErrs []RowError) (Submitted, error) {
	j, err := s.store.GetJob(ctx, jobID)
	if err != nil {
		return Submitted{}, err
	}
	j.Derive()
	out := withErrors(j, rowErrs, ListedErrors)
	out.Replayed = true
	return out, nil
}

func newJobID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "job_" + hex.EncodeToString(b)
}

func (c chunk) message(j Job) Message {
	rows := make([]byte, 0, 2+len(c.Rows)*64)
	rows = append(rows, '[')
	for i, r := range c.Rows {
		if i > 0 {
			rows = append(rows, ',')
		}
		rows = append(rows, r...)
	}
	rows = append(rows, ']')
	return Message{V: MessageVersion, JobID: j.JobID, Kind: j.Kind, Chunk: c.Index, Expires: j.ExpiresAt.Unix(), Rows: rows}
}

// putValidationErrors stores each chunk range's invalid rows (so the error
// listing reads them in row order), retrying unprocessed items.
func (s *Service) putValidationErrors(ctx context.Context, j Job, chunks []chunk) error {
	var lists []ChunkErrors
	for _, c := range chunks {
		if len(c.Errors) > 0 {
			lists = append(lists, ChunkErrors{Chunk: c.Index, Errors: c.Errors})
		}
	}
	for start := 0; start < len(lists); start += 25 {
		todo := lists[start:min(start+25, len(lists))]
		err := s.backoff.Do(ctx, func() error {
			left, err := s.store.PutChunkErrors(ctx, j.JobID, todo, j.ExpiresAt)
			if err != nil {
				return err
			}
			if todo = left; len(left) > 0 {
				return ErrConflict // unprocessed items: back off, retry them
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("batch: store validation errors: %w", err)
		}
	}
	return nil
}

// runInline processes small jobs' chunks in this call and returns the ones
// it could not finish (they are queued instead).
func (s *Service) runInline(ctx context.Context, msgs []Message) []Message {
	var rest []Message
	for _, m := range msgs {
		if err := s.proc.process(ctx, m, ByInline); err != nil {
			s.log.WarnContext(ctx, "inline chunk queued instead", "job_id", m.JobID, "chunk", m.Chunk, "err", err.Error())
			rest = append(rest, m)
		}
	}
	return rest
}

// enqueue sends chunks ten per SendMessageBatch, eight calls at a time,
// retrying refused entries and failed calls (a duplicate message is
// harmless). Chunks that still cannot be queued are closed at once (their
// rows become not_processed) so the job finishes anyway.
func (s *Service) enqueue(ctx, closeCtx context.Context, msgs []Message) error {
	bodies := make([]string, len(msgs))
	for i, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("batch: encode chunk %d: %w", m.Chunk, err)
		}
		bodies[i] = string(b)
	}
	sent := make([]bool, len(msgs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, r := range packBatches(bodies) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			idx := make([]int, 0, r[1]-r[0])
			for i := r[0]; i < r[1]; i++ {
				idx = append(idx, i)
			}
			err := s.backoff.Do(ctx, func() error {
				batch := make([]queue.Message, len(idx))
				for k, i := range idx {
					batch[k] = queue.Message{Body: bodies[i]}
				}
				failed, err := s.queue.SendBatch(ctx, batch)
				if err != nil {
					return err
				}
				var retry []int
				refused := map[int]bool{}
				for _, f := range failed {
					refused[f.Index] = true
					if !f.Permanent {
						retry = append(retry, idx[f.Index])
					}
				}
				for k, i := range idx {
					if !refused[k] {
						sent[i] = true
					}
				}
				if idx = retry; len(retry) > 0 {
					return ErrConflict
				}
				return nil
			})
			if err != nil {
				s.log.ErrorContext(ctx, "chunks not queued", "err", err.Error())
			}
		}()
	}
	wg.Wait()
	for i, m := range msgs {
		if sent[i] {
			continue
		}
		if err := s.proc.close(closeCtx, m, "Its chunk could not be queued; nothing was written for this row. Re-submit it.", BySubmit); err != nil {
			return fmt.Errorf("batch: close unqueued chunk %d of %s: %w", m.Chunk, m.JobID, err)
		}
	}
	return nil
}

// reserve takes the job's rows from the day's quota and a concurrency
// slot; release gives both back if the submit fails before queueing.
func (s *Service) reserve(ctx context.Context, jobID string, rows int, now time.Time) (release func(), err error) {
	day := now.UTC().Format(time.DateOnly)
	if rows > s.cfg.MaxRowsPerDay {
		return nil, apierror.New(apierror.QuotaExceeded, "A job may create at most %d rows per day (UTC); this one has %d valid rows.", s.cfg.MaxRowsPerDay, rows)
	}
	var ok bool
	err = s.backoff.Do(ctx, func() (err error) {
		ok, err = s.store.ReserveRows(ctx, day, rows, s.cfg.MaxRowsPerDay, now.Add(48*time.Hour))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("batch: reserve rows: %w", err)
	}
	if !ok {
		return nil, apierror.New(apierror.QuotaExceeded, "This job's %d rows would pass the limit of %d rows per day (UTC); retry tomorrow or split the file.", rows, s.cfg.MaxRowsPerDay)
	}
	bg := context.WithoutCancel(ctx)
	refund := func() {
		if err := s.store.ReleaseRows(bg, day, rows); err != nil {
			s.log.ErrorContext(ctx, "refund rows", "err", err.Error())
		}
	}
	got, err := s.acquire(ctx, jobID, now)
	if err != nil || !got {
		refund()
		if err != nil {
			return nil, err
		}
		return nil, apierror.New(apierror.QuotaExceeded, "At most %d jobs may be queued or running at once; retry when one finishes.", s.cfg.MaxActiveJobs)
	}
	return func() {
		if err := s.store.ReleaseSlot(bg, jobID); err != nil {
			s.log.ErrorContext(ctx, "release slot", "err", err.Error())
		}
		refund()
	}, nil
}

// acquire takes a slot; if all are taken it reclaims those of finished or
// stalled jobs and tries once more.
func (s *Service) acquire(ctx context.Context, jobID string, now time.Time) (bool, error) {
	for attempt := 0; ; attempt++ {
		var ok bool
		var holders map[string]time.Time
		err := s.backoff.Do(ctx, func() (err error) {
			ok, holders, err = s.store.AcquireSlot(ctx, jobID, s.cfg.MaxActiveJobs, now)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("batch: acquire slot: %w", err)
		}
		if ok || attempt > 0 {
			return ok, nil
		}
		freed, err := s.reclaim(ctx, holders, now)
		if err != nil || !freed {
			return false, err
		}
	}
}

func (s *Service) reclaim(ctx context.Context, holders map[string]time.Time, now time.Time) (bool, error) {
	freed := false
	for id, since := range holders {
		if now.Sub(since) < SlotGrace {
			continue
		}
		j, err := s.store.GetJob(ctx, id)
		if err != nil && !apierror.Is(err, apierror.NotFound) {
			return false, fmt.Errorf("batch: reclaim slot: %w", err)
		}
		last := j.CreatedAt
		if j.UpdatedAt.After(last) {
			last = j.UpdatedAt
		}
		if err == nil && !j.Finished() && now.Sub(last) < StallAfter {
			continue
		}
		if err := s.store.ReleaseSlot(ctx, id); err != nil {
			return false, fmt.Errorf("batch: reclaim slot: %w", err)
		}
		s.log.WarnContext(ctx, "reclaimed job slot", "job_id", id)
		freed = true
	}
	return freed, nil
}

// Get returns a job with its derived state.
func (s *Service) Get(ctx context.Context, p auth.Principal, id string) (Job, error) {
	if err := p.Admin(); err != nil {
		return Job{}, err
	}
	if !jobIDPattern.MatchString(id) {
		return Job{}, jobNotFound(id)
	}
	j, err := s.store.GetJob(ctx, id)
	if err != nil {
		return Job{}, err
	}
	j.Derive()
	return j, nil
}

func jobNotFound(id string) error {
	return apierror.New(apierror.NotFound, "Job %q was not found (jobs are kept %d days).", truncate(id, 64), int(JobTTL.Hours()/24))
}

// Error page sizes: JSON pages default to 100 errors, CSV pages to 10,000.
const (
	MaxErrorPage     = 1000
	MaxErrorPageCSV  = 10_000
	DefaultErrorPage = 100
)

// ErrorPage is one page of a job's row errors, in row order.
type ErrorPage struct {
	Errors     []RowError `json:"errors"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Errors lists a job's failed rows. max is the page-size ceiling (JSON or CSV).
func (s *Service) Errors(ctx context.Context, p auth.Principal, id string, limit, max int, token string) (ErrorPage, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return ErrorPage{}, err
	}
	if limit == 0 {
		limit = min(max, DefaultErrorPage)
		if max == MaxErrorPageCSV {
			limit = max
		}
	}
	if limit < 1 || limit > max {
		return ErrorPage{}, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", max)
	}
	scope := "job-errors:" + id
	page, err := s.cursors.Decode(scope, token)
	if err != nil {
		return ErrorPage{}, err
	}
	from, off := 0, 0
	if token != "" {
		var err1, err2 error
		from, err1 = strconv.Atoi(page.Extra["c"])
		off, err2 = strconv.Atoi(page.Extra["o"])
		if err1 != nil || err2 != nil || from < 0 || off < 0 {
			return ErrorPage{}, apierror.New(apierror.InvalidCursor, "The cursor is invalid.")
		}
	}
	return s.errorsFrom(ctx, scope, id, from, off, limit)
}

func (s *Service) errorsFrom(ctx context.Context, scope, id string, from, off, limit int) (ErrorPage, error) {
	lists, next, err := s.store.ErrorsFrom(ctx, id, from, off+limit)
	if err != nil {
		return ErrorPage{}, err
	}
	out := ErrorPage{Errors: []RowError{}}
	cont := cursor.Page{}
	for _, l := range lists {
		sort.Slice(l.Errors, func(a, b int) bool { return l.Errors[a].Row < l.Errors[b].Row })
		k := 0
		if l.Chunk == from {
			k = off
		}
		for ; k < len(l.Errors); k++ {
			if len(out.Errors) == limit {
				cont.Extra = map[string]string{"c": strconv.Itoa(l.Chunk), "o": strconv.Itoa(k)}
				break
			}
			out.Errors = append(out.Errors, l.Errors[k])
		}
		if cont.Extra != nil {
			break
		}
	}
	if cont.Extra == nil && next >= 0 {
		cont.Extra = map[string]string{"c": strconv.Itoa(next), "o": "0"}
	}
	if out.NextCursor, err = s.cursors.Encode(scope, cont); err != nil {
		return ErrorPage{}, err
	}
	return out, nil
}

// MaxVerifyIDs bounds one verify call (BatchGetItem reads 100 per request).
const MaxVerifyIDs = 1000

// Verified says which ids exist.
type Verified struct {
	Existing []string `json:"existing"`
	Missing  []string `json:"missing"`
}

// VerifyUsers reports which of ids exist (strongly consistent reads, so a
// just-finished job's users are all visible).
func (s *Service) VerifyUsers(ctx context.Context, p auth.Principal, ids []string) (Verified, error) {
	ids, err := verifyInput(p, "user_ids", ids)
	if err != nil {
		return Verified{}, err
	}
	found, err := s.proc.find(ctx, ids, s.store.FindUsers)
	if err != nil {
		return Verified{}, err
	}
	return split(ids, func(id string) bool { _, ok := found[id]; return ok }), nil
}

// VerifyGroups reports which of ids exist as groups.
func (s *Service) VerifyGroups(ctx context.Context, p auth.Principal, ids []string) (Verified, error) {
	ids, err := verifyInput(p, "group_ids", ids)
	if err != nil {
		return Verified{}, err
	}
	if s.proc.groups == nil {
		return Verified{}, fmt.Errorf("batch: verify groups: no group creator configured")
	}
	exists := make([]bool, len(ids))
	res := s.proc.eachRow(ctx, len(ids), func(i int) (Outcome, *RowError, error) {
		out, err := s.proc.groups.GroupOutcome(ctx, "", ids[i])
		exists[i] = out != 0
		return out, nil, err
	})
	for _, r := range res {
		if r.err != nil {
			return Verified{}, fmt.Errorf("batch: verify groups: %w", r.err)
		}
	}
	idx := map[string]int{}
	for i, id := range ids {
		idx[id] = i
	}
	return split(ids, func(id string) bool { return exists[idx[id]] }), nil
}

func verifyInput(p auth.Principal, field string, ids []string) ([]string, error) {
	if err := p.Admin(); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxVerifyIDs {
		return nil, apierror.New(apierror.ValidationFailed, "%s must list 1 to %d ids.", field, MaxVerifyIDs).WithDetails(map[string]string{"field": field})
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if err := users.ValidateID(field, id); err != nil {
			return nil, apierror.New(apierror.InvalidID, "%s[%d] is not a valid id.", field, i).WithDetails(map[string]any{"field": field, "index": i})
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

func split(ids []string, exists func(string) bool) Verified {
	v := Verified{Existing: []string{}, Missing: []string{}}
	for _, id := range ids {
		if exists(id) {
			v.Existing = append(v.Existing, id)
		} else {
			v.Missing = append(v.Missing, id)
		}
	}
	return v
}
