// Package apptest checks a function's configuration against template.yaml
// (read as YAML only: no AWS, no emulator).
package apptest

import (
	"slices"
	"sort"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/app"
)

// CheckTemplateEnv fails unless the variables cfg reads (its env tags) and
// the variables template.yaml sets for the function logicalID (Globals
// plus its own Environment) are the same set: a variable renamed on one
// side only, read but never set, or set but never read is named.
func CheckTemplateEnv(t *testing.T, logicalID string, cfg any) {
	t.Helper()
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	set, ok := templateEnv(tmpl, logicalID)
	if !ok {
		t.Fatalf("template.yaml has no function %s", logicalID)
	}
	read := map[string]bool{}
	for _, v := range app.Vars(cfg) {
		read[v.Name] = true
	}
	for _, name := range diff(read, set) {
		t.Errorf("%s reads %s but template.yaml does not set it for the function", logicalID, name)
	}
	for _, name := range diff(set, read) {
		t.Errorf("template.yaml sets %s for %s but its configuration does not read it", name, logicalID)
	}
}

func templateEnv(tmpl *template.Template, logicalID string) (map[string]bool, bool) {
	i := slices.IndexFunc(tmpl.Functions(), func(f template.Function) bool { return f.LogicalID == logicalID })
	if i < 0 {
		return nil, false
	}
	set := map[string]bool{}
	for k := range tmpl.Functions()[i].Environment {
		set[k] = true
	}
	return set, true
}

// diff returns the names in a and not in b, sorted.
func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
