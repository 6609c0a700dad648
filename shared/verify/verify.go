// Package verify answers POST /v1/jobs/verify: which of a list of user ids
// or group ids exist. An operator calls it after a batch import, but it is
// a read over two aggregates (users and groups), not part of the import
// pipeline, so it lives apart from shared/batch and from users and chat
// (neither of which should know the other's ids).
package verify

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/users"
)

// MaxIDs bounds one call (BatchGetItem reads 100 per request).
const MaxIDs = 1000

// findPage is how many user ids one FindUsers call reads.
const findPage = 100

// Parallelism is how many group reads run at once.
const Parallelism = 16

// UserFinder reads up to 100 users (consistent): the ids that exist
// (batch.Store has it; the adapter retries unprocessed keys itself).
type UserFinder interface {
	FindUsers(ctx context.Context, ids []string) (found map[string]string, err error)
}

// GroupReader reads a group head, nil if absent (chat.Store has it).
type GroupReader interface {
	GetGroup(ctx context.Context, gid string) (*chat.Group, error)
}

// Result says which ids exist, each list in request order.
type Result struct {
	Existing []string `json:"existing"`
	Missing  []string `json:"missing"`
}

// Service holds the verify use case.
type Service struct {
	users  UserFinder
	groups GroupReader
}

// New builds the service.
func New(u UserFinder, g GroupReader) *Service {
	return &Service{users: u, groups: g}
}

// Users reports which of ids exist (strongly consistent reads, so a
// just-finished job's users are all visible).
func (s *Service) Users(ctx context.Context, p auth.Principal, ids []string) (Result, error) {
	ids, err := input(p, "user_ids", ids)
	if err != nil {
		return Result{}, err
	}
	found := map[string]bool{}
	for start := 0; start < len(ids); start += findPage {
		got, err := s.users.FindUsers(ctx, ids[start:min(start+findPage, len(ids))])
		if err != nil {
			return Result{}, fmt.Errorf("verify: find users: %w", err)
		}
		for id := range got {
			found[id] = true
		}
	}
	return split(ids, func(i int) bool { return found[ids[i]] }), nil
}

// Groups reports which of ids exist as groups (a dissolved group exists:
// its id is taken).
func (s *Service) Groups(ctx context.Context, p auth.Principal, ids []string) (Result, error) {
	ids, err := input(p, "group_ids", ids)
	if err != nil {
		return Result{}, err
	}
	exists := make([]bool, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, Parallelism)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("verify: panic reading group %q: %v\n%s", id, r, debug.Stack())
				}
			}()
			g, err := s.groups.GetGroup(ctx, id)
			exists[i], errs[i] = g != nil, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Result{}, fmt.Errorf("verify: read group: %w", err)
		}
	}
	return split(ids, func(i int) bool { return exists[i] }), nil
}

// input checks the caller and the list and drops repeated ids (the first
// occurrence keeps its place).
func input(p auth.Principal, field string, ids []string) ([]string, error) {
	if err := p.Admin(); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxIDs {
		return nil, apierror.New(apierror.ValidationFailed, "%s must list 1 to %d ids.", field, MaxIDs).WithDetails(map[string]string{"field": field})
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

func split(ids []string, exists func(i int) bool) Result {
	r := Result{Existing: []string{}, Missing: []string{}}
	for i, id := range ids {
		if exists(i) {
			r.Existing = append(r.Existing, id)
		} else {
			r.Missing = append(r.Missing, id)
		}
	}
	return r
}
