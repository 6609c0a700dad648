package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
)

// TestAuditTableIsAppendOnly reads template.yaml: every IAM statement of
// every function and policy that reaches AuditTable (or could: a wildcard
// resource) grants nothing beyond PutItem, Query and GetItem, so no
// function can change or delete an entry; writers may only put, and
// AuditFunction only queries.
func TestAuditTableIsAppendOnly(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem"}
	checked := 0
	check := func(owner string, stmts []any) {
		for _, s := range stmts {
			st, _ := s.(map[string]any)
			res, _ := json.Marshal(st["Resource"])
			reaches := strings.Contains(string(res), "AuditTable") || strings.Contains(string(res), `"*"`)
			if !reaches {
				continue
			}
			for _, a := range actions(st["Action"]) {
				if strings.Contains(string(res), "AuditTable") {
					checked++
				}
				if strings.HasPrefix(a, "dynamodb:") && !slices.Contains(allowed, a) || a == "*" || a == "dynamodb:*" {
					t.Errorf("%s grants %s on %s", owner, a, res)
				}
			}
		}
	}
	for _, r := range tmpl.Resources {
		switch r.Type {
		case "AWS::Serverless::Function":
			for _, p := range template.List(r.Properties, "Policies") {
				if m, ok := p.(map[string]any); ok {
					check(r.Name, template.List(m, "Statement"))
				}
			}
		case "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::Role":
			check(r.Name, template.List(template.Map(r.Properties, "PolicyDocument"), "Statement"))
			for _, p := range template.List(r.Properties, "Policies") {
				check(r.Name, template.List(template.Map(p.(map[string]any), "PolicyDocument"), "Statement"))
			}
		}
	}
	if checked < 4 { // the three writers' PutItem and the reader's Query
		t.Fatalf("found %d grants on AuditTable: the walk is broken", checked)
	}
	at := tmpl.Resources["AuditTable"]
	if ttl := template.Map(at.Properties, "TimeToLiveSpecification"); ttl["Enabled"] != true || ttl["AttributeName"] != "expires_at" {
		t.Errorf("AuditTable TTL %v", ttl)
	}
	if d := template.Int(tmpl.Parameters["AuditRetentionDays"], "Default", 0); d != 365 {
		t.Errorf("AuditRetentionDays default %d, want 365", d)
	}
}

func actions(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}
