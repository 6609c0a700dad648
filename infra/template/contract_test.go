package template

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPIMatchesTemplate holds docs/openapi.yaml to the template: the
// set of documented operations and the set of REST routes are the same.
func TestOpenAPIMatchesTemplate(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, r := range tmpl.RestRoutes() {
		served[r.Key()] = true
	}
	if len(served) == 0 {
		t.Fatal("template has no REST routes")
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("template route %s is not in docs/openapi.yaml", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("docs/openapi.yaml documents %s, which the template does not route", k)
		}
	}
}

// TestOpenAPIValid runs the installed openapi-spec-validator (OpenAPI 3.1).
func TestOpenAPIValid(t *testing.T) {
	bin, err := exec.LookPath("openapi-spec-validator")
	if err != nil {
		t.Fatal("openapi-spec-validator is not installed (pip install openapi-spec-validator)")
	}
	out, err := exec.Command(bin, filepath.Join(RepoRoot(), "docs", "openapi.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("openapi-spec-validator: %v\n%s", err, out)
	}
}

// TestFunctionsHaveCode: every template function has functions/<dir>/main.go,
// and every functions/<dir> is in the template.
func TestFunctionsHaveCode(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := map[string]bool{}
	for _, f := range tmpl.Functions() {
		inTemplate[f.Dir] = true
		if _, err := os.Stat(filepath.Join(RepoRoot(), "functions", f.Dir, "main.go")); err != nil {
			t.Errorf("function %s: functions/%s/main.go missing", f.LogicalID, f.Dir)
		}
	}
	dirs, _ := os.ReadDir(filepath.Join(RepoRoot(), "functions"))
	var orphans []string
	for _, d := range dirs {
		if d.IsDir() && !inTemplate[d.Name()] {
			orphans = append(orphans, d.Name())
		}
	}
	sort.Strings(orphans)
	if len(orphans) > 0 {
		t.Errorf("functions/ dirs not in template.yaml: %v", orphans)
	}
}
