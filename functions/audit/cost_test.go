package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestAuditEntryCost measures one audited action's write with the
// request-counting middleware: one PutItem; its units are the item's plus
// one per GSI it lands in (by_actor always, by_target when it has a target).
func TestAuditEntryCost(t *testing.T) {
	testenv.NeedAWS(t) // counts DynamoDB requests
	env := testenv.Get(t)
	cfg, c := env.Counted()
	rec := audit.NewRecorder(dynamo.NewAudit(env.DB(cfg).Client(), env.Res.Tables["AuditTable"]), 0, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	rec.Record(context.Background(), audit.Meta{RequestID: "req-1", SourceIP: "203.0.113.7", UserAgent: "curl/8"},
		audit.Entry{Actor: "credential:tk_0123456789abcdef0123", Action: "user.ban", Target: "user:alice",
			Changes: map[string]audit.Change{"banned": {After: true}, "reason": {After: "spam"}}})
	s := c.Snapshot()
	t.Logf("one audited action: %s", s)
	if s.Count("DynamoDB.PutItem") != 1 || len(s.Requests) != 1 {
		t.Fatalf("want one PutItem, got %s", s)
	}
	if s.WriteUnits > 3 {
		t.Errorf("%.1f WCU, want at most 3 (item + 2 GSIs)", s.WriteUnits)
	}
}
