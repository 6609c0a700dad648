package batch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/idempotency"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/queue"
)

// Submitting a file: validate, claim the Idempotency-Key, reserve quota,
// write the job, then run it inline or queue its chunks.

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
// listing reads them in row order); the store retries unprocessed items.
func (s *Service) putValidationErrors(ctx context.Context, j Job, chunks []chunk) error {
	var lists []ChunkErrors
	for _, c := range chunks {
		if len(c.Errors) > 0 {
			lists = append(lists, ChunkErrors{Chunk: c.Index, Errors: c.Errors})
		}
	}
	for start := 0; start < len(lists); start += 25 {
		if err := s.store.PutChunkErrors(ctx, j.JobID, lists[start:min(start+25, len(lists))], j.ExpiresAt); err != nil {
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
