package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/memstore"
)

// TestRecorder: stamps id, time and expiry from the retention, keeps the
// request's origin, drops secret fields, and survives a failed write.
func TestRecorder(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	log := memstore.NewAudit()
	rec := audit.NewRecorder(log, 7*24*time.Hour, slog.New(slog.NewJSONHandler(io.Discard, nil)), func() time.Time { return now })
	rec.Record(context.Background(), audit.Meta{RequestID: "r1", SourceIP: "198.51.100.4", UserAgent: "ua"}, audit.Entry{
		Actor: "credential:tk_a", Action: "credential.create", Target: "credential:tk_b",
		Changes: map[string]audit.Change{"name": {After: "ci"}, "secret": {After: "tks_x"}, "secret_hash": {After: "h"}, "access_token": {After: "t"}},
	})
	es := log.Entries()
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[0]
	if at, ok := audit.IDTime(e.ID); !ok || !at.Equal(now) || !e.At.Equal(now) || e.ExpiresAt != now.Add(7*24*time.Hour).Unix() {
		t.Fatalf("stamps %+v", e)
	}
	if e.RequestID != "r1" || e.SourceIP != "198.51.100.4" || e.UserAgent != "ua" {
		t.Fatalf("origin %+v", e)
	}
	if len(e.Changes) != 1 || e.Changes["name"].After != "ci" {
		t.Fatalf("secret fields kept: %+v", e.Changes)
	}
	// A failed write: one error line holding the entry's fields, never a
	// secret one; the request goes on.
	var buf bytes.Buffer
	failing := audit.NewRecorder(failStore{}, 0, slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return now })
	failing.Record(context.Background(), audit.Meta{RequestID: "r2", SourceIP: "198.51.100.5", UserAgent: "ua2"}, audit.Entry{
		Actor: "user:u1", Action: "user.role", Target: "user:u2",
		Changes: map[string]audit.Change{"role": {Before: "user", After: "moderator"}, "password": {After: "hunter2"}}})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("failed write logged %q: %v", buf.String(), err)
	}
	want := map[string]any{"level": "ERROR", "msg": "audit entry not written", "actor": "user:u1", "action": "user.role", "target": "user:u2",
		"request_id": "r2", "source_ip": "198.51.100.5", "user_agent": "ua2", "at": now.Format(time.RFC3339),
		"changes": `{"role":{"before":"user","after":"moderator"}}`, "err": "down"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("failed write's log %s = %v, want %v", k, line[k], v)
		}
	}
	if id, _ := line["entry_id"].(string); id == "" || strings.Contains(buf.String(), "hunter2") {
		t.Errorf("failed write's log: %s", buf.String())
	}
	var none *audit.Recorder
	none.Record(context.Background(), audit.Meta{}, audit.Entry{Action: "x"})
}

type failStore struct{}

func (failStore) Append(context.Context, audit.Entry) error { return errors.New("down") }
func (failStore) List(context.Context, audit.Query) ([]audit.Entry, string, error) {
	return nil, "", nil
}

// TestFailures: one entry at each mark per source and window; a new
// window starts the count again; sources are counted apart.
func TestFailures(t *testing.T) {
	now := time.Now()
	log := memstore.NewAudit()
	f := audit.NewFailures(audit.NewRecorder(log, 0, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil), func() time.Time { return now })
	m := audit.Meta{SourceIP: "192.0.2.1"}
	for range 60 {
		f.Failed(context.Background(), m, "invalid_token")
	}
	f.Failed(context.Background(), audit.Meta{SourceIP: "192.0.2.2"}, "invalid_token")
	if es := log.Entries(); len(es) != 2 || es[0].Count != 5 || es[1].Count != 50 {
		t.Fatalf("entries %+v", es)
	}
	now = now.Add(audit.FailureWindow)
	for range 5 {
		f.Failed(context.Background(), m, "invalid_token")
	}
	if es := log.Entries(); len(es) != 3 || es[2].Count != 5 {
		t.Fatalf("new window: %+v", es)
	}
	f.Failed(context.Background(), audit.Meta{}, "invalid_token") // no address: nothing to count
}
