package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/users"
)

// jobRec is a job item as the adapter stores it: PutJob keeps only the
// submitted fields, CommitChunk adds the counters.
type jobRec struct {
	kind                                      batch.Kind
	format, keyID                             string
	total, invalid, created, failed           int
	chunks, chunksDone                        int
	createdAt, startedAt, updatedAt, expiresS int64
}

func (r jobRec) job(id string) batch.Job {
	j := batch.Job{JobID: id, Kind: r.kind, Format: r.format, Total: r.total, Invalid: r.invalid, Created: r.created,
		Failed: r.failed, Chunks: r.chunks, ChunksDone: r.chunksDone, KeyID: r.keyID,
		CreatedAt: time.UnixMilli(r.createdAt).UTC(), ExpiresAt: time.Unix(r.expiresS, 0).UTC()}
	if r.startedAt > 0 {
		t := time.UnixMilli(r.startedAt).UTC()
		j.StartedAt = &t
	}
	if r.updatedAt > 0 {
		j.UpdatedAt = time.UnixMilli(r.updatedAt).UTC()
	}
	return j
}

// chunkRec is a chunk item: the marker (sk C#<n>) or a validation-error
// list (sk C#<n>#V). The adapter always writes the errs attribute, an
// empty list when there are none, so every chunk item is "with errors" to
// ErrorsFrom's filter.
type chunkRec struct {
	errs []batch.RowError
}

// Jobs is the jobs table in memory (batch.Store). Users are written into
// the *Users it was built with, as the adapter writes the users table.
type Jobs struct {
	users *Users

	mu     sync.Mutex
	jobs   map[string]jobRec
	chunks map[string]map[string]chunkRec // job id -> sk -> item
	days   map[string]int                 // day -> rows reserved
	active map[string]int64               // job id -> acquired at (ms); nil until the first AcquireSlot
}

var _ batch.Store = (*Jobs)(nil)

// NewJobs returns an empty jobs table writing users into u.
func NewJobs(u *Users) *Jobs {
	return &Jobs{users: u, jobs: map[string]jobRec{}, chunks: map[string]map[string]chunkRec{}, days: map[string]int{}}
}

func chunkSK(n int) string { return fmt.Sprintf("C#%06d", n) }

// PutJob writes a new job; batch.ErrJobExists if the id is taken.
func (s *Jobs) PutJob(_ context.Context, j batch.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[j.JobID]; ok {
		return batch.ErrJobExists
	}
	s.jobs[j.JobID] = jobRec{kind: j.Kind, format: j.Format, keyID: j.KeyID, total: j.Total, invalid: j.Invalid,
		failed: j.Failed, chunks: j.Chunks, createdAt: j.CreatedAt.UnixMilli(), expiresS: j.ExpiresAt.Unix()}
	return nil
}

// GetJob reads a job; not_found if absent.
func (s *Jobs) GetJob(_ context.Context, id string) (batch.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.jobs[id]
	if !ok {
		return batch.Job{}, apierror.New(apierror.NotFound, "Job %q was not found (jobs are kept %d days).", id, int(batch.JobTTL.Hours()/24))
	}
	return r.job(id), nil
}

// ChunkStatus returns the job (nil if absent) and whether the chunk's
// marker exists.
func (s *Jobs) ChunkStatus(_ context.Context, jobID string, chunk int) (*batch.Job, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var job *batch.Job
	if r, ok := s.jobs[jobID]; ok {
		j := r.job(jobID)
		job = &j
	}
	_, done := s.chunks[jobID][chunkSK(chunk)]
	return job, done, nil
}

// PutChunkErrors stores (overwrites) each chunk's validation-error list;
// at most 25 lists, as one BatchWriteItem.
func (s *Jobs) PutChunkErrors(_ context.Context, jobID string, lists []batch.ChunkErrors, _ time.Time) error {
	if len(lists) > 25 {
		return fmt.Errorf("memstore: put chunk errors: %d items, at most 25", len(lists))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lists {
		s.putChunk(jobID, chunkSK(l.Chunk)+"#V", chunkRec{errs: slices.Clone(l.Errors)})
	}
	return nil
}

func (s *Jobs) putChunk(jobID, sk string, c chunkRec) {
	if s.chunks[jobID] == nil {
		s.chunks[jobID] = map[string]chunkRec{}
	}
	s.chunks[jobID][sk] = c
}

// CommitChunk puts the chunk's marker and adds its counts to the job, all
// or nothing: false if the marker exists, not_found if the job does not.
func (s *Jobs) CommitChunk(_ context.Context, c batch.Commit) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.chunks[c.JobID][chunkSK(c.Chunk)]; ok {
		return false, nil
	}
	r, ok := s.jobs[c.JobID]
	if !ok {
		return false, apierror.New(apierror.NotFound, "Job %q was not found.", c.JobID)
	}
	s.putChunk(c.JobID, chunkSK(c.Chunk), chunkRec{errs: slices.Clone(c.Errors)})
	r.created += c.Created
	r.failed += len(c.Errors)
	r.chunksDone++
	r.updatedAt = c.At.UnixMilli()
	if r.startedAt == 0 {
		r.startedAt = r.updatedAt
	}
	s.jobs[c.JobID] = r
	return true, nil
}

// ErrorsFrom reads chunk items from chunk from on, in key order (the
// marker's failed rows, then the chunk's validation errors), until it has
// at least want errors and reaches the next chunk. Items without errors
// are skipped, as the adapter's size(errs) filter skips them.
func (s *Jobs) ErrorsFrom(_ context.Context, jobID string, from, want int) ([]batch.ChunkErrors, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := s.chunks[jobID]
	sks := make([]string, 0, len(items))
	for sk := range items {
		if sk >= chunkSK(from) && sk <= "C#~" && len(items[sk].errs) > 0 {
			sks = append(sks, sk)
		}
	}
	sort.Strings(sks)
	var out []batch.ChunkErrors
	total := 0
	for _, sk := range sks {
		var n int
		if _, err := fmt.Sscanf(sk, "C#%d", &n); err != nil {
			return nil, 0, fmt.Errorf("memstore: bad chunk key %q", sk)
		}
		if len(out) == 0 || out[len(out)-1].Chunk != n {
			if total >= want {
				return out, n, nil
			}
			out = append(out, batch.ChunkErrors{Chunk: n})
		}
		last := &out[len(out)-1]
		last.Errors = append(last.Errors, items[sk].errs...)
		total += len(items[sk].errs)
	}
	return out, -1, nil
}

// ReserveRows adds n to the day's count if the count is absent or at most
// max-n. Like the adapter's condition, the first reservation of a day is
// not checked against max (the service refuses n > max before calling).
func (s *Jobs) ReserveRows(_ context.Context, day string, n, max int, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rows, ok := s.days[day]; ok && rows > max-n {
		return false, nil
	}
	s.days[day] += n
	return true, nil
}

// ReleaseRows gives n rows back; a day without a count is left alone.
func (s *Jobs) ReleaseRows(_ context.Context, day string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.days[day]; ok {
		s.days[day] -= n
	}
	return nil
}

// AcquireSlot records jobID as active unless max jobs already are (a job
// already holding a slot counts); on refusal it returns the holders.
func (s *Jobs) AcquireSlot(_ context.Context, jobID string, max int, now time.Time) (bool, map[string]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		s.active = map[string]int64{}
	}
	if len(s.active) < max {
		s.active[jobID] = now.UnixMilli()
		return true, nil, nil
	}
	holders := make(map[string]time.Time, len(s.active))
	for id, ms := range s.active {
		holders[id] = time.UnixMilli(ms)
	}
	return false, holders, nil
}

// ReleaseSlot frees jobID's slot; a no-op if it holds none.
func (s *Jobs) ReleaseSlot(_ context.Context, jobID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, jobID)
	return nil
}

// CreateUserForJob writes u with jobID unless the id exists: Created, or
// CreatedEarlier if the existing user records this job, else Exists.
func (s *Jobs) CreateUserForJob(_ context.Context, u users.User, jobID string) (batch.Outcome, error) {
	created, existing := s.users.createForJob(u, jobID)
	switch {
	case created:
		return batch.Created, nil
	case existing == jobID:
		return batch.CreatedEarlier, nil
	}
	return batch.Exists, nil
}

// ClaimIdempotencyKey is the users table's (users.Store has the same).
func (s *Jobs) ClaimIdempotencyKey(ctx context.Context, scope, key, fp string, ttl time.Duration) (string, error) {
	return s.users.ClaimIdempotencyKey(ctx, scope, key, fp, ttl)
}

// FindUsers reads up to 100 distinct ids: those that exist, with the job
// that created each. As BatchGetItem, it refuses no ids (DynamoDB does;
// moto does not), more than 100, or a repeated id.
func (s *Jobs) FindUsers(_ context.Context, ids []string) (map[string]string, error) {
	if len(ids) == 0 || len(ids) > 100 {
		return nil, fmt.Errorf("memstore: find users: %d ids, want 1 to 100", len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, fmt.Errorf("memstore: find users: id %q repeated", id)
		}
		seen[id] = true
	}
	return s.users.jobsOf(ids), nil
}
