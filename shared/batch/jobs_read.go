package batch

import (
	"context"
	"sort"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// Reading a job and its failed rows (GET /v1/jobs/{job_id} and
// GET /v1/jobs/{job_id}/errors).

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
	var page errorsCursor
	if err := s.cursors.Decode(scope, token, &page); err != nil {
		return ErrorPage{}, err
	}
	if page.Chunk < 0 || page.Offset < 0 {
		return ErrorPage{}, apierror.New(apierror.InvalidCursor, "The cursor is invalid.")
	}
	return s.errorsFrom(ctx, scope, id, page.Chunk, page.Offset, limit)
}

// errorsCursor is the state of an error listing: the chunk to resume in
// and the offset of the next error within it.
type errorsCursor struct {
	Chunk  int `json:"c"`
	Offset int `json:"o"`
}

func (s *Service) errorsFrom(ctx context.Context, scope, id string, from, off, limit int) (ErrorPage, error) {
	lists, next, err := s.store.ErrorsFrom(ctx, id, from, off+limit)
	if err != nil {
		return ErrorPage{}, err
	}
	out := ErrorPage{Errors: []RowError{}}
	var cont *errorsCursor
	for _, l := range lists {
		sort.Slice(l.Errors, func(a, b int) bool { return l.Errors[a].Row < l.Errors[b].Row })
		k := 0
		if l.Chunk == from {
			k = off
		}
		for ; k < len(l.Errors); k++ {
			if len(out.Errors) == limit {
				cont = &errorsCursor{Chunk: l.Chunk, Offset: k}
				break
			}
			out.Errors = append(out.Errors, l.Errors[k])
		}
		if cont != nil {
			break
		}
	}
	if cont == nil && next >= 0 {
		cont = &errorsCursor{Chunk: next}
	}
	if cont != nil {
		if out.NextCursor, err = s.cursors.Encode(scope, cont); err != nil {
			return ErrorPage{}, err
		}
	}
	return out, nil
}
