package main

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if got, want := h.Routes(), tmpl.RestRoutesOf("AuditFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

// TestListAudit: filters, pages, and refuses what it must.
func TestListAudit(t *testing.T) {
	log := memstore.NewAudit()
	rec := audit.NewRecorder(log, 0, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	for _, e := range []audit.Entry{
		{Actor: "credential:tk_a", Action: "credential.create", Target: "credential:tk_b"},
		{Actor: "user:mod", Action: "user.ban", Target: "user:eve"},
		{Actor: "credential:tk_a", Action: "user.ban", Target: "user:bob"},
	} {
		rec.Record(context.Background(), audit.Meta{RequestID: "r", SourceIP: "198.51.100.1"}, e)
		time.Sleep(2 * time.Millisecond) // distinct milliseconds: a stable order
	}
	h := NewHandler(audit.NewService(log, nil), slog.New(slog.NewJSONHandler(io.Discard, nil))).Handle
	reader := &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_r", Scopes: auth.Scopes{auth.ScopeAuditRead}}
	call := func(q map[string]string, p *auth.Principal) testenv.Reply {
		return testenv.Call(t, h, testenv.REST{Method: "GET", Resource: "/v1/audit", Path: "/v1/audit", Query: q, Principal: p})
	}
	actions := func(r testenv.Reply) []string {
		var out []string
		for _, e := range r.JSON["entries"].([]any) {
			out = append(out, e.(map[string]any)["action"].(string))
		}
		return out
	}
	if r := call(nil, reader); r.Status != 200 || !reflect.DeepEqual(actions(r), []string{"user.ban", "user.ban", "credential.create"}) {
		t.Fatalf("all: %d %s", r.Status, r.Body)
	}
	if r := call(map[string]string{"actor": "credential:tk_a", "action": "user.ban"}, reader); len(actions(r)) != 1 {
		t.Fatalf("actor and action: %s", r.Body)
	}
	if r := call(map[string]string{"target": "user:eve"}, reader); len(actions(r)) != 1 {
		t.Fatalf("target: %s", r.Body)
	}
	r := call(map[string]string{"limit": "2"}, reader)
	next, _ := r.JSON["next_cursor"].(string)
	if len(actions(r)) != 2 || next == "" {
		t.Fatalf("page 1: %s", r.Body)
	}
	if r := call(map[string]string{"limit": "2", "cursor": next}, reader); !reflect.DeepEqual(actions(r), []string{"credential.create"}) {
		t.Fatalf("page 2: %s", r.Body)
	}
	for _, tc := range []struct {
		name string
		q    map[string]string
		p    *auth.Principal
		code string
	}{
		{"no audit:read", nil, &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_x", Scopes: auth.Scopes{auth.ScopeUsersRead}}, "scope_required"},
		{"user token", nil, testenv.User("u"), "forbidden"},
		{"bad since", map[string]string{"since": "yesterday"}, reader, "validation_failed"},
		{"since after until", map[string]string{"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, reader, "validation_failed"},
		{"range too long", map[string]string{"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, reader, "validation_failed"},
		{"made-up cursor", map[string]string{"cursor": "abc"}, reader, "invalid_cursor"},
		{"limit too large", map[string]string{"limit": "201"}, reader, "limit_out_of_range"},
	} {
		if r := call(tc.q, tc.p); r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, r.Status, r.Body, tc.code)
		}
	}
}
