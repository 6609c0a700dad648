// Package audit is the audit log: one entry per audited action (who did
// what to what, from where, when, and the fields it changed, never a
// secret), written once and never changed through the API, read by
// GET /v1/audit with the audit:read scope. Entries expire after the
// retention the template sets (AuditRetentionDays, DynamoDB TTL).
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Entry is one audited event.
type Entry struct {
	ID        string            `json:"entry_id"` // sorts by time: 12 hex digits of ms, 8 random
	At        time.Time         `json:"at"`
	Actor     string            `json:"actor"`  // credential:<key id>, user:<id>, or ip:<address> for failed auth
	Action    string            `json:"action"` // e.g. credential.create (docs/permissions.md, "Audit log")
	Target    string            `json:"target,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	SourceIP  string            `json:"source_ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Changes   map[string]Change `json:"changes,omitempty"`
	Count     int               `json:"count,omitempty"` // summaries: how many events this entry stands for
	ExpiresAt int64             `json:"-"`               // epoch seconds (TTL)
}

// Change is a field's value before and after (nil: absent).
type Change struct {
	Before any `json:"before,omitempty"`
	After  any `json:"after,omitempty"`
}

// Meta is where a request came from.
type Meta struct {
	RequestID, SourceIP, UserAgent string
}

// Store appends and lists entries. It has no update and no delete: the
// template's IAM gives no function those rights on the table.
type Store interface {
	Append(ctx context.Context, e Entry) error
	List(ctx context.Context, q Query) ([]Entry, string, error)
}

// Query selects entries, newest first. Since and Until bound the time
// (inclusive, exclusive); Before (an entry id) resumes a listing.
type Query struct {
	Actor, Target, Action string
	Since, Until          time.Time
	Before                string
	Limit                 int
}

// secretish names fields whose values never enter the log.
var secretish = []string{"secret", "password", "token", "hash", "key_material"}

func isSecret(field string) bool {
	f := strings.ToLower(field)
	for _, s := range secretish {
		if strings.Contains(f, s) {
			return true
		}
	}
	return false
}

// Recorder writes entries: it stamps id, time and expiry, drops secret
// fields, and logs (never returns) a failed write, because the action it
// records has already happened and must not be retried for the log's sake.
type Recorder struct {
	store     Store
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time
}

// DefaultRetention is the template's default (AuditRetentionDays).
const DefaultRetention = 365 * 24 * time.Hour

// NewRecorder builds a recorder; retention 0 is DefaultRetention.
func NewRecorder(s Store, retention time.Duration, log *slog.Logger, now func() time.Time) *Recorder {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if now == nil {
		now = time.Now
	}
	return &Recorder{store: s, retention: retention, log: log, now: now}
}

// Record writes e (a nil recorder records nothing).
func (r *Recorder) Record(ctx context.Context, m Meta, e Entry) {
	if r == nil {
		return
	}
	now := r.now()
	e.ID, e.At, e.ExpiresAt = NewID(now), now.UTC().Truncate(time.Millisecond), now.Add(r.retention).Unix()
	e.RequestID, e.SourceIP, e.UserAgent = m.RequestID, m.SourceIP, truncate(m.UserAgent, 256)
	for f := range e.Changes {
		if isSecret(f) {
			delete(e.Changes, f)
		}
	}
	if err := r.store.Append(ctx, e); err != nil {
		// The store's client already retried (the SDK's retryer); what is
		// left is an entry lost from the table. The log line keeps it
		// whole (secret fields were dropped above), so an operator can
		// find it in the function's logs (docs/permissions.md, "Audit log").
		changes, _ := json.Marshal(e.Changes)
		r.log.ErrorContext(ctx, "audit entry not written", "entry_id", e.ID, "at", e.At, "action", e.Action, "actor", e.Actor,
			"target", e.Target, "request_id", e.RequestID, "source_ip", e.SourceIP, "user_agent", e.UserAgent, "count", e.Count,
			"changes", string(changes), "err", err.Error())
	}
}

// NewID is a time-sortable entry id.
func NewID(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	return fmt.Sprintf("%012x%s", now.UnixMilli(), hex.EncodeToString(b))
}

// IDTime is the time an id was made at (false if s is not an id).
func IDTime(s string) (time.Time, bool) {
	if len(s) != 20 {
		return time.Time{}, false
	}
	if _, err := hex.DecodeString(s); err != nil {
		return time.Time{}, false
	}
	var ms int64
	if _, err := fmt.Sscanf(s[:12], "%x", &ms); err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Bound is the id bounding entries made before t: every entry made at t
// or later sorts at or above it.
func Bound(t time.Time) string { return fmt.Sprintf("%012x00000000", t.UnixMilli()) }

// Matches reports whether e passes q's filters and bounds (the fakes'
// and the adapter's filter, in one place).
func (q Query) Matches(e Entry) bool {
	switch {
	case q.Actor != "" && e.Actor != q.Actor, q.Target != "" && e.Target != q.Target, q.Action != "" && e.Action != q.Action:
		return false
	case q.Before != "" && e.ID >= q.Before:
		return false
	}
	return e.ID >= Bound(q.Since) && e.ID < Bound(q.Until)
}
