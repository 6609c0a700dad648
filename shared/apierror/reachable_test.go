package apierror

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCatalogueReachable: every code in the catalogue (and so in
// docs/errors.md) is one a client can get: some non-test code outside this
// package returns it, or one of template.yaml's gateway responses renders
// it. A catalogued code nothing returns is a promise the API breaks (as
// method_not_allowed was: API Gateway REST APIs cannot answer 405).
func TestCatalogueReachable(t *testing.T) {
	root := filepath.Join("..", "..")
	names := constNames(t, "apierror.go") // code -> constant name
	used := map[string]bool{}
	ref := regexp.MustCompile(`\bapierror\.([A-Z]\w*)`)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "vendor" || n == "apierror") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(used) == 0 {
		t.Fatal("found no apierror references: the walk is broken")
	}
	for _, c := range Codes() {
		name, ok := names[string(c)]
		if !ok {
			t.Errorf("code %q has no constant in apierror.go", c)
			continue
		}
		if !used[name] && !strings.Contains(string(tmpl), `"code":"`+string(c)+`"`) {
			t.Errorf("code %q (%s) is catalogued but nothing returns it", c, name)
		}
	}
}

// constNames maps each string constant of file to its name.
func constNames(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out[s] = id.Name
					}
				}
			}
		}
		return true
	})
	return out
}
