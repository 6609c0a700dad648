package arch

import (
	"slices"
	"strings"
	"testing"
)

// deployed are the programs that run against a deployed stack: every
// Lambda function and the operator's tokenim-admin (make credential).
var deployed = []string{"functions/...", "infra/local/cmd/tokenim-admin"}

// TestDeployedImportNoLocalStack: what runs against AWS does not link the
// local stack (its Lambda emulator, gateways, provisioning, template
// reader); tokenim-admin once imported all of infra/local for one function.
func TestDeployedImportNoLocalStack(t *testing.T) {
	pkgs := make([]string, len(deployed))
	for i, d := range deployed {
		pkgs[i] = module + d
	}
	graph := goList(t, pkgs)
	roots := 0
	for root := range graph {
		if !isDeployed(root) {
			continue
		}
		roots++
		var got []string
		for dep := range reach(graph, root) {
			if dep != root && strings.HasPrefix(dep, module+"infra/") {
				got = append(got, dep)
			}
		}
		slices.Sort(got)
		if len(got) > 0 {
			t.Errorf("%s links the local stack: %s", strings.TrimPrefix(root, module), strings.Join(got, ", "))
		}
	}
	if roots < 2 { // go list -e says nothing of a pattern that matches nothing
		t.Fatalf("go list found %d deployed packages in %v", roots, deployed)
	}
}

func isDeployed(path string) bool {
	rel := strings.TrimPrefix(path, module)
	return rel != path && (strings.HasPrefix(rel, "functions/") || rel == "infra/local/cmd/tokenim-admin")
}

// reach is every package root imports, directly or not.
func reach(graph map[string][]string, root string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, imp := range graph[p] {
			if !seen[imp] {
				seen[imp] = true
				walk(imp)
			}
		}
	}
	walk(root)
	return seen
}
