package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/batch"
)

// newJob is a job as Submit writes it; State, DryRun and the counters a
// commit adds are not stored by PutJob.
func newJob(id string) batch.Job {
	now := msNow()
	return batch.Job{JobID: id, Kind: batch.Kind("users"), Format: "csv", Total: 10, Invalid: 2, Failed: 2, Chunks: 3, KeyID: "tk_test",
		CreatedAt: now, ExpiresAt: now.Add(batch.JobTTL).Truncate(time.Second)}
}

func rowErrs(chunk, n int) []batch.RowError {
	out := make([]batch.RowError, n)
	for i := range out {
		out[i] = batch.RowError{Row: chunk*100 + i + 1, ID: storeID("row"), Code: apierror.Code("invalid_request"), Message: "bad row"}
	}
	return out
}

func mustPutJob(t *testing.T, s batch.Store, j batch.Job) {
	t.Helper()
	if err := s.PutJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
}

func mustGetJob(t *testing.T, s batch.Store, id string) batch.Job {
	t.Helper()
	j, err := s.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func wantJob(t *testing.T, got, want batch.Job) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("job\n got %+v\nwant %+v", got, want)
	}
}

// JobsStore runs the batch.Store contract.
func JobsStore(t *testing.T, newStore func(t *testing.T) batch.Store) {
	t.Helper()
	ctx := context.Background()
	runCases(t, newStore, []storeCase[batch.Store]{
		{"put job then get keeps the submitted fields", func(t *testing.T, s batch.Store) {
			j := newJob(storeID("job"))
			in := j
			in.State, in.DryRun, in.Pending = batch.StateQueued, true, 8 // derived, never stored
			mustPutJob(t, s, in)
			wantJob(t, mustGetJob(t, s, j.JobID), j)
		}},
		{"put existing job is ErrJobExists", func(t *testing.T, s batch.Store) {
			j := newJob(storeID("job"))
			mustPutJob(t, s, j)
			other := j
			other.Total = 99
			if err := s.PutJob(ctx, other); !errors.Is(err, batch.ErrJobExists) {
				t.Fatalf("second put: %v", err)
			}
			wantJob(t, mustGetJob(t, s, j.JobID), j)
		}},
		{"get missing job is not_found", func(t *testing.T, s batch.Store) {
			_, err := s.GetJob(ctx, storeID("job"))
			wantCode(t, err, apierror.NotFound)
		}},
		{"commit chunk counts once", func(t *testing.T, s batch.Store) {
			j := newJob(storeID("job"))
			mustPutJob(t, s, j)
			if job, done, err := s.ChunkStatus(ctx, j.JobID, 0); err != nil || job == nil || done {
				t.Fatalf("before commit: %v %v %v", job, done, err)
			}
			at := msNow()
			c := batch.Commit{JobID: j.JobID, Chunk: 0, Created: 3, Errors: rowErrs(0, 1), By: "worker", At: at, Expires: j.ExpiresAt}
			if ok, err := s.CommitChunk(ctx, c); err != nil || !ok {
				t.Fatalf("commit: %v %v", ok, err)
			}
			want := j
			want.Created, want.Failed, want.ChunksDone, want.StartedAt, want.UpdatedAt = 3, 3, 1, &at, at
			wantJob(t, mustGetJob(t, s, j.JobID), want)
			job, done, err := s.ChunkStatus(ctx, j.JobID, 0)
			if err != nil || !done || job == nil {
				t.Fatalf("after commit: %v %v %v", job, done, err)
			}
			wantJob(t, *job, want)

			// A redelivery of the same chunk changes nothing.
			again := c
			again.At, again.Created = at.Add(time.Minute), 7
			if ok, err := s.CommitChunk(ctx, again); err != nil || ok {
				t.Fatalf("second commit: %v %v", ok, err)
			}
			wantJob(t, mustGetJob(t, s, j.JobID), want)

			// The next chunk adds; started_at stays at the first commit.
			later := at.Add(time.Hour)
			if ok, err := s.CommitChunk(ctx, batch.Commit{JobID: j.JobID, Chunk: 1, Created: 2, By: "worker", At: later, Expires: j.ExpiresAt}); err != nil || !ok {
				t.Fatalf("chunk 1: %v %v", ok, err)
			}
			want.Created, want.ChunksDone, want.UpdatedAt = 5, 2, later
			wantJob(t, mustGetJob(t, s, j.JobID), want)
		}},
		{"commit for a missing job is not_found and writes nothing", func(t *testing.T, s batch.Store) {
			id := storeID("job")
			_, err := s.CommitChunk(ctx, batch.Commit{JobID: id, Chunk: 4, Created: 1, At: msNow(), Expires: msNow().Add(time.Hour)})
			wantCode(t, err, apierror.NotFound)
			if job, done, err := s.ChunkStatus(ctx, id, 4); err != nil || job != nil || done {
				t.Fatalf("after refused commit: %v %v %v", job, done, err)
			}
		}},
		{"validation errors are not a chunk marker", func(t *testing.T, s batch.Store) {
			j := newJob(storeID("job"))
			mustPutJob(t, s, j)
			if err := s.PutChunkErrors(ctx, j.JobID, []batch.ChunkErrors{{Chunk: 0, Errors: rowErrs(0, 2)}}, j.ExpiresAt); err != nil {
				t.Fatalf("put errors: %v", err)
			}
			if _, done, err := s.ChunkStatus(ctx, j.JobID, 0); err != nil || done {
				t.Fatalf("marker after validation errors: %v %v", done, err)
			}
		}},
		{"put chunk errors takes at most 25 lists", func(t *testing.T, s batch.Store) {
			lists := make([]batch.ChunkErrors, 26)
			for i := range lists {
				lists[i] = batch.ChunkErrors{Chunk: i, Errors: rowErrs(i, 1)}
			}
			if err := s.PutChunkErrors(ctx, storeID("job"), lists, msNow().Add(time.Hour)); err == nil {
				t.Fatal("26 lists accepted")
			}
		}},
		{"errors from reads whole chunks in row order", func(t *testing.T, s batch.Store) { errorsFromCases(t, s) }},
		{"reserve and release rows", func(t *testing.T, s batch.Store) {
			day := storeID("day")
			exp := msNow().Add(48 * time.Hour)
			steps := []struct {
				op   string
				n    int
				want bool
			}{
				{"reserve", 60, true}, {"reserve", 40, true}, {"reserve", 1, false},
				{"release", 50, true}, {"reserve", 51, false}, {"reserve", 50, true}, {"reserve", 1, false},
			}
			for i, st := range steps {
				if st.op == "release" {
					if err := s.ReleaseRows(ctx, day, st.n); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					continue
				}
				if ok, err := s.ReserveRows(ctx, day, st.n, 100, exp); err != nil || ok != st.want {
					t.Fatalf("step %d: reserve %d = %v %v, want %v", i, st.n, ok, err, st.want)
				}
			}
			if err := s.ReleaseRows(ctx, storeID("day"), 5); err != nil {
				t.Fatalf("release on a day without reservations: %v", err)
			}
		}},
		{"acquire and release slots", func(t *testing.T, s batch.Store) { slotCases(t, s) }},
		{"create user for job", func(t *testing.T, s batch.Store) {
			job, other := storeID("job"), storeID("job")
			u := newUser(storeID("imp"))
			u.IdempotencyKey, u.Source = "", ""
			steps := []struct {
				job  string
				want batch.Outcome
			}{{job, batch.Created}, {job, batch.CreatedEarlier}, {other, batch.Exists}, {"", batch.Exists}}
			for i, st := range steps {
				if got, err := s.CreateUserForJob(ctx, u, st.job); err != nil || got != st.want {
					t.Fatalf("step %d: %v %v, want %v", i, got, err, st.want)
				}
			}
			plain := newUser(storeID("imp"))
			if got, err := s.CreateUserForJob(ctx, plain, ""); err != nil || got != batch.Created {
				t.Fatalf("without job: %v %v", got, err)
			}
			if got, err := s.CreateUserForJob(ctx, plain, job); err != nil || got != batch.Exists {
				t.Fatalf("user made without a job: %v %v", got, err)
			}
			missing := storeID("imp")
			found, err := s.FindUsers(ctx, []string{u.UserID, plain.UserID, missing})
			if err != nil || !reflect.DeepEqual(found, map[string]string{u.UserID: job, plain.UserID: ""}) {
				t.Fatalf("find users: %v %v", found, err)
			}
		}},
		{"find users takes at most 100 distinct ids", func(t *testing.T, s batch.Store) {
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = storeID("many")
			}
			if _, err := s.FindUsers(ctx, ids); err == nil {
				t.Fatal("101 ids accepted")
			}
			// One BatchGetItem: DynamoDB refuses a repeated key. (It refuses an
			// empty key list too, but moto accepts one, so that is not pinned.)
			if _, err := s.FindUsers(ctx, []string{ids[0], ids[0]}); err == nil {
				t.Fatal("a repeated id accepted")
			}
		}},
		{"claim idempotency key", func(t *testing.T, s batch.Store) { ClaimCases(t, s.ClaimIdempotencyKey) }},
	})
}

func errorsFromCases(t *testing.T, s batch.Store) {
	t.Helper()
	ctx := context.Background()
	j := newJob(storeID("job"))
	mustPutJob(t, s, j)
	v0, v2, v5, failed2 := rowErrs(0, 2), rowErrs(2, 1), rowErrs(5, 3), rowErrs(2, 1)
	if err := s.PutChunkErrors(ctx, j.JobID, []batch.ChunkErrors{{Chunk: 0, Errors: v0}, {Chunk: 2, Errors: v2}, {Chunk: 5, Errors: v5}, {Chunk: 6}}, j.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	for _, c := range []batch.Commit{
		{JobID: j.JobID, Chunk: 2, Created: 1, Errors: failed2, At: msNow(), Expires: j.ExpiresAt},
		{JobID: j.JobID, Chunk: 3, Created: 4, At: msNow(), Expires: j.ExpiresAt}, // no errors: not listed
	} {
		if ok, err := s.CommitChunk(ctx, c); err != nil || !ok {
			t.Fatalf("commit %d: %v %v", c.Chunk, ok, err)
		}
	}
	// Within a chunk the marker's failed rows come before its validation
	// errors. Chunks 3 and 6 have none: they are neither listed nor named
	// by next (a client would otherwise get an empty page).
	all := []batch.ChunkErrors{{Chunk: 0, Errors: v0}, {Chunk: 2, Errors: append(append([]batch.RowError{}, failed2...), v2...)},
		{Chunk: 5, Errors: v5}}
	cases := []struct {
		from, want int
		lists      []batch.ChunkErrors
		next       int
	}{
		{0, 100, all, -1},
		{0, 2, all[:1], 2},
		{0, 3, all[:2], 5},
		{1, 1, all[1:2], 5},
		{3, 1, all[2:], -1},
		{6, 10, nil, -1},
		{7, 10, nil, -1},
	}
	for _, c := range cases {
		lists, next, err := s.ErrorsFrom(ctx, j.JobID, c.from, c.want)
		if err != nil || next != c.next || !reflect.DeepEqual(lists, c.lists) {
			t.Errorf("ErrorsFrom(%d, %d) = %+v, %d, %v; want %+v, %d", c.from, c.want, lists, next, err, c.lists, c.next)
		}
	}
	if lists, next, err := s.ErrorsFrom(ctx, storeID("job"), 0, 10); err != nil || lists != nil || next != -1 {
		t.Errorf("unknown job: %v %d %v", lists, next, err)
	}
}

// slotCases holds for any number of slots already held by other tests
// (the active-jobs item is one per table).
func slotCases(t *testing.T, s batch.Store) {
	t.Helper()
	ctx := context.Background()
	a, b := storeID("job"), storeID("job")
	t.Cleanup(func() {
		s.ReleaseSlot(context.Background(), a)
		s.ReleaseSlot(context.Background(), b)
	})
	now := msNow()
	const room = 1 << 20
	if ok, holders, err := s.AcquireSlot(ctx, a, room, now); err != nil || !ok || holders != nil {
		t.Fatalf("acquire a: %v %v %v", ok, holders, err)
	}
	ok, holders, err := s.AcquireSlot(ctx, b, 1, now.Add(time.Second))
	if err != nil || ok || !holders[a].Equal(now) {
		t.Fatalf("acquire b with a full table: %v %v %v", ok, holders, err)
	}
	if _, held := holders[b]; held {
		t.Fatalf("refused job listed as a holder: %v", holders)
	}
	if err := s.ReleaseSlot(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseSlot(ctx, a); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if ok, _, err := s.AcquireSlot(ctx, b, room, now); err != nil || !ok {
		t.Fatalf("acquire b after release: %v %v", ok, err)
	}
	_, holders, err = s.AcquireSlot(ctx, storeID("job"), 1, now)
	if _, held := holders[a]; err != nil || held || !holders[b].Equal(now) {
		t.Fatalf("holders after release: %v %v", holders, err)
	}
}
