package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

// Who committed a chunk (stored on its marker, for operators).
const (
	ByWorker     = "worker"
	ByInline     = "inline"
	ByDeadLetter = "dead-letter"
	BySubmit     = "submit"
)

// DefaultParallelism is how many rows one invocation writes at once.
const DefaultParallelism = 16

// Processor creates the rows of chunks: the SQS worker, the dead-letter
// consumer and inline jobs all go through it.
type Processor struct {
	store   Store
	groups  GroupCreator
	log     *slog.Logger
	backoff Backoff
	sem     chan struct{} // bounds concurrent row writes across messages
	now     func() time.Time
}

// ProcessorOptions tune a Processor; zero values take the defaults.
type ProcessorOptions struct {
	Parallelism int
	Backoff     Backoff
	Now         func() time.Time
	// Groups creates group rows (nil: group chunks fail until it is wired).
	Groups GroupCreator
}

// NewProcessor builds a processor.
func NewProcessor(s Store, log *slog.Logger, opt ProcessorOptions) *Processor {
	if opt.Parallelism <= 0 {
		opt.Parallelism = DefaultParallelism
	}
	if opt.Backoff.Attempts == 0 {
		opt.Backoff = DefaultBackoff
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Processor{store: s, groups: opt.Groups, log: log, backoff: opt.Backoff, sem: make(chan struct{}, opt.Parallelism), now: opt.Now}
}

// HandleMessage processes one chunk message from the batch queue. A nil
// return means the chunk is committed (now or by an earlier delivery) and
// the message may be deleted; an error means SQS should deliver it again.
func (p *Processor) HandleMessage(ctx context.Context, body string) error {
	m, err := DecodeMessage(body)
	if err != nil {
		return err // poison: it goes to the dead-letter queue, which logs and drops it
	}
	return p.process(ctx, m, ByWorker)
}

// process creates a chunk's rows and commits the chunk.
func (p *Processor) process(ctx context.Context, m Message, by string) error {
	return p.finish(ctx, m, by, p.createUsers, p.createGroups)
}

// rowsFunc works out a chunk's result: rows created, rows failed.
type rowsFunc func(context.Context, Message) (int, []RowError, error)

// finish runs the chunk's rows through users or groups (by kind) and
// commits the result, unless the chunk is committed already.
func (p *Processor) finish(ctx context.Context, m Message, by string, users, groups rowsFunc) error {
	job, done, err := p.status(ctx, m)
	if err != nil || job == nil {
		return err
	}
	if done {
		// Committed by an earlier delivery or by the dead-letter consumer:
		// writing rows now would create users the job counted as failed.
		return p.settle(ctx, m.JobID, job)
	}
	rows := users
	if m.Kind == KindGroups {
		rows = groups
	}
	created, errs, err := rows(ctx, m)
	if err != nil {
		return err
	}
	return p.commit(ctx, m, created, errs, by)
}

// status reads the job and whether the chunk is committed. A missing job
// (expired, or a message from elsewhere) is logged and yields job == nil:
// nothing is written and the message is dropped.
func (p *Processor) status(ctx context.Context, m Message) (*Job, bool, error) {
	var job *Job
	var done bool
	err := p.backoff.Do(ctx, func() (err error) {
		job, done, err = p.store.ChunkStatus(ctx, m.JobID, m.Chunk)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("batch: chunk %s/%d status: %w", m.JobID, m.Chunk, err)
	}
	if job == nil {
		p.log.WarnContext(ctx, "chunk of unknown job dropped", "job_id", m.JobID, "chunk", m.Chunk)
	}
	return job, done, nil
}

func (p *Processor) commit(ctx context.Context, m Message, created int, errs []RowError, by string) error {
	c := Commit{JobID: m.JobID, Chunk: m.Chunk, Created: created, Errors: errs, By: by, At: p.now().UTC(), Expires: time.Unix(m.Expires, 0)}
	err := p.backoff.Do(ctx, func() error {
		_, err := p.store.CommitChunk(ctx, c)
		return err
	})
	if err != nil {
		return fmt.Errorf("batch: commit chunk %s/%d: %w", m.JobID, m.Chunk, err)
	}
	return p.settle(ctx, m.JobID, nil)
}

// settle frees the job's concurrency slot once every row is final. It runs
// after every commit, so a crash between the last commit and the release is
// repaired by the redelivery of that last chunk.
func (p *Processor) settle(ctx context.Context, jobID string, job *Job) error {
	if job == nil || !job.Finished() {
		var j Job
		err := p.backoff.Do(ctx, func() (err error) { j, err = p.store.GetJob(ctx, jobID); return err })
		if apierror.Is(err, apierror.NotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("batch: read job %s: %w", jobID, err)
		}
		job = &j
	}
	if !job.Finished() {
		return nil
	}
	if err := p.backoff.Do(ctx, func() error { return p.store.ReleaseSlot(ctx, jobID) }); err != nil {
		return fmt.Errorf("batch: release slot of %s: %w", jobID, err)
	}
	return nil
}

// result is one row's outcome inside a chunk.
type result struct {
	out    Outcome
	rowErr *RowError
	err    error
}

// eachRow runs create for every row, at most Parallelism at a time across
// the whole invocation, each with in-invocation retries.
func (p *Processor) eachRow(ctx context.Context, n int, create func(i int) (Outcome, *RowError, error)) []result {
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				res[i].err = ctx.Err()
				return
			}
			defer func() { <-p.sem }()
			// A panic fails this row, and so its message only (SQSHandler
			// cannot recover a panic in another goroutine).
			defer func() {
				if r := recover(); r != nil {
					res[i].err = fmt.Errorf("batch: panic in row %d: %v\n%s", i, r, debug.Stack())
				}
			}()
			err := p.backoff.Do(ctx, func() (err error) {
				res[i].out, res[i].rowErr, err = create(i)
				return err
			})
			res[i].err = err
		}()
	}
	wg.Wait()
	return res
}

// tally turns row results into the chunk's counts. Any row that still has a
// transient error fails the whole message: SQS redelivers it, and the rows
// already written are recognised as CreatedEarlier.
func tally(jobID string, chunk int, res []result) (int, []RowError, error) {
	created := 0
	var errs []RowError
	for _, r := range res {
		switch {
		case r.err != nil:
			return 0, nil, fmt.Errorf("batch: chunk %s/%d: %w", jobID, chunk, r.err)
		case r.rowErr != nil:
			errs = append(errs, *r.rowErr)
		case r.out == Created || r.out == CreatedEarlier:
			created++
		}
	}
	return created, errs, nil
}

func (p *Processor) createUsers(ctx context.Context, m Message) (int, []RowError, error) {
	var items []Item[UserRow]
	if err := json.Unmarshal(m.Rows, &items); err != nil {
		return 0, nil, fmt.Errorf("batch: chunk %s/%d rows: %w", m.JobID, m.Chunk, err)
	}
	res := p.eachRow(ctx, len(items), func(i int) (Outcome, *RowError, error) {
		it := items[i]
		// Validated at submit; checked again so that nothing a queue
		// producer could send bypasses the rules.
		if err := it.Data.Validate(); err != nil {
			e := rowError(it.Row, it.Data.UserID, err)
			return 0, &e, nil
		}
		u := users.New(it.Data.input(), p.now())
		out, err := p.store.CreateUserForJob(ctx, u, m.JobID)
		if err != nil {
			return 0, nil, err
		}
		if out == Exists {
			e := rowError(it.Row, u.UserID, users.Exists(u.UserID))
			return out, &e, nil
		}
		return out, nil, nil
	})
	return tally(m.JobID, m.Chunk, res)
}

// HandleDeadLetter closes a chunk that failed every delivery, so its job
// finishes: each row is read, and counted created if this job wrote it,
// user_exists if it existed, not_processed otherwise. An undecodable
// message cannot be attributed to a job: it is logged and dropped.
func (p *Processor) HandleDeadLetter(ctx context.Context, body string) error {
	m, err := DecodeMessage(body)
	if err != nil {
		p.log.ErrorContext(ctx, "undecodable dead letter dropped", "err", err.Error(), "bytes", len(body))
		return nil
	}
	return p.close(ctx, m, "Its chunk failed every delivery and was dead-lettered; nothing was written for this row. Re-submit it.", ByDeadLetter)
}

// close commits a chunk whose processing is abandoned, classifying each row
// by reading it.
func (p *Processor) close(ctx context.Context, m Message, reason, by string) error {
	return p.finish(ctx, m, by,
		func(ctx context.Context, m Message) (int, []RowError, error) { return p.classifyUsers(ctx, m, reason) },
		func(ctx context.Context, m Message) (int, []RowError, error) { return p.classifyGroups(ctx, m, reason) })
}

func (p *Processor) classifyUsers(ctx context.Context, m Message, reason string) (int, []RowError, error) {
	var items []Item[UserRow]
	if err := json.Unmarshal(m.Rows, &items); err != nil {
		p.log.ErrorContext(ctx, "dead chunk rows undecodable", "job_id", m.JobID, "chunk", m.Chunk)
		return 0, nil, fmt.Errorf("batch: chunk %s/%d rows: %w", m.JobID, m.Chunk, err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Data.UserID
	}
	found, err := p.find(ctx, ids, p.store.FindUsers)
	if err != nil {
		return 0, nil, err
	}
	created := 0
	var errs []RowError
	for _, it := range items {
		id := it.Data.UserID
		job, exists := found[id]
		switch {
		case exists && job == m.JobID:
			created++
		case exists:
			errs = append(errs, rowError(it.Row, id, users.Exists(id)))
		default:
			errs = append(errs, rowError(it.Row, id, apierror.New(apierror.NotProcessed, "%s", reason)))
		}
	}
	return created, errs, nil
}

// find looks ids up 100 at a time (the store retries unprocessed keys).
func (p *Processor) find(ctx context.Context, ids []string, lookup func(context.Context, []string) (map[string]string, error)) (map[string]string, error) {
	found := map[string]string{}
	for start := 0; start < len(ids); start += 100 {
		got, err := lookup(ctx, ids[start:min(start+100, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("batch: look up rows: %w", err)
		}
		for k, v := range got {
			found[k] = v
		}
	}
	return found, nil
}
