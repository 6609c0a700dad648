package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestUpdateGroupDocumentedFields holds updateGroup's description in
// docs/openapi.yaml to the server: each field it lists as giving
// `immutable_field` (owner_id among them) does, naming itself in
// details.field, and any other field gives `unknown_field`.
func TestUpdateGroupDocumentedFields(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join(template.RepoRoot(), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, op, _ := strings.Cut(string(spec), "operationId: updateGroup")
	desc, _, _ := strings.Cut(op, "requestBody:")
	listed, _, ok := strings.Cut(desc, "give `immutable_field`")
	if !ok || !strings.Contains(desc, "`unknown_field`") {
		t.Fatalf("updateGroup's description does not say which fields give immutable_field and unknown_field:\n%s", desc)
	}
	_, listed, _ = strings.Cut(listed, "replaced whole.") // the sentence that lists them
	var fields []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(listed, -1) {
		fields = append(fields, m[1])
	}
	if !strings.Contains(strings.Join(fields, " "), "owner_id") {
		t.Fatalf("owner_id not among the documented immutable fields %v", fields)
	}

	f := newFixture(t)
	u := f.users(t, 1)
	owner := testenv.User(u[0])
	g := map[string]string{"group_id": testenv.ID("g")}
	if r := call(t, f, owner, "POST", "/v1/groups", nil, `{"group_id":"`+g["group_id"]+`"}`); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	tests := []struct{ field, code string }{{"color", "unknown_field"}}
	for _, name := range fields {
		tests = append(tests, struct{ field, code string }{name, "immutable_field"})
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			r := call(t, f, owner, "PATCH", "/v1/groups/{group_id}", g, `{"`+tc.field+`":"x"}`)
			details, _ := r.JSON["error"].(map[string]any)["details"].(map[string]any)
			if r.Status != 400 || r.ErrorCode() != tc.code || details["field"] != tc.field {
				t.Fatalf("PATCH {%q}: %d %s, want 400 %s naming the field", tc.field, r.Status, r.Body, tc.code)
			}
		})
	}
}
