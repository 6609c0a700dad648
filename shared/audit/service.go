package audit

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// Page limits and the longest range one listing covers.
const (
	DefaultPage = 50
	MaxPage     = 200
	MaxRange    = 400 * 24 * time.Hour
)

// Service reads the log.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService builds the reader.
func NewService(s Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now}
}

// Page is one page of entries, newest first.
type Page struct {
	Entries    []Entry `json:"entries"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// ListInput is GET /v1/audit's query.
type ListInput struct {
	Actor, Target, Action string
	Since, Until          *time.Time
	Limit                 int
	Cursor                string
}

// List pages through the log (audit:read; the rule table checks it first).
func (s *Service) List(ctx context.Context, p auth.Principal, in ListInput) (Page, error) {
	if err := p.RequireScope(auth.ScopeAuditRead); err != nil {
		return Page{}, err
	}
	q := Query{Actor: in.Actor, Target: in.Target, Action: in.Action, Limit: in.Limit}
	if q.Limit == 0 {
		q.Limit = DefaultPage
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return Page{}, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxPage)
	}
	for field, v := range map[string]string{"actor": in.Actor, "target": in.Target, "action": in.Action} {
		if len(v) > 200 {
			return Page{}, apierror.New(apierror.ValidationFailed, "%s must be at most 200 characters.", field).WithDetails(map[string]any{"field": field})
		}
	}
	q.Until = s.now().Add(time.Minute)
	if in.Until != nil {
		q.Until = *in.Until
	}
	q.Since = q.Until.Add(-30 * 24 * time.Hour)
	if in.Since != nil {
		q.Since = *in.Since
	}
	if !q.Since.Before(q.Until) || q.Until.Sub(q.Since) > MaxRange {
		return Page{}, apierror.New(apierror.ValidationFailed, "since must be before until, at most 400 days apart.").WithDetails(map[string]any{"field": "since"})
	}
	if in.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.Cursor)
		if _, ok := IDTime(string(b)); err != nil || !ok {
			return Page{}, apierror.New(apierror.InvalidCursor, "cursor is not one this API returned.")
		}
		q.Before = string(b)
	}
	list, next, err := s.store.List(ctx, q)
	if err != nil {
		return Page{}, err
	}
	out := Page{Entries: append([]Entry{}, list...)}
	if next != "" {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	return out, nil
}
