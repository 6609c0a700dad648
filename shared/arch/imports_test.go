package arch

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tokenim/tokenim/"

// domain are the use-case packages: they import nothing from AWS; the
// adapters in shared/aws, the functions' handlers and shared/queue/lambdasqs
// do.
var domain = []string{
	"shared/chat", "shared/users", "shared/auth", "shared/batch", "shared/realtime", "shared/signup",
	"shared/cursor", "shared/queue", "shared/idtoken", "shared/apierror", "shared/strictjson",
	"shared/verify", "shared/idempotency", "shared/memstore", "shared/memqueue",
	"shared/permissions", "shared/moderation", "shared/ratelimit", "shared/audit", // issue 17
}

// pending still import AWS while their move is under way (issue 13). A
// pending package's own AWS imports are logged, not failed, and other
// packages are not blamed for what they reach through it. Empty this list
// as the moves land.
var pending = map[string]string{}

// forbidden are the import path prefixes the domain must not reach.
var forbidden = []string{"github.com/aws/aws-sdk-go-v2", "github.com/aws/aws-lambda-go", "github.com/aws/smithy-go"}

func isForbidden(path string) bool {
	return slices.ContainsFunc(forbidden, func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") })
}

// violations returns, for root, one import chain per AWS package it
// reaches ("root -> a -> github.com/aws/..."), in a stable order. It does
// not look inside skip packages (other than root itself).
func violations(imports map[string][]string, root string, skip func(string) bool) []string {
	var out []string
	seen := map[string]bool{root: true}
	var walk func(pkg string, chain []string)
	walk = func(pkg string, chain []string) {
		for _, imp := range imports[pkg] {
			switch {
			case isForbidden(imp):
				if !seen[imp] {
					seen[imp] = true
					out = append(out, strings.Join(append(slices.Clone(chain), imp), " -> "))
				}
			case !seen[imp] && !skip(imp):
				seen[imp] = true
				walk(imp, append(chain, imp))
			}
		}
	}
	walk(root, []string{root})
	slices.Sort(out)
	return out
}

// goList reads the import graph of pkgs and their dependencies.
func goList(t *testing.T, pkgs []string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-e", "-deps", "-json=ImportPath,Imports"}, pkgs...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		graph[p.ImportPath] = p.Imports
	}
	return graph
}

// TestDomainImportsNoAWS fails naming every import chain from a domain
// package (not pending) to aws-sdk-go-v2, aws-lambda-go or smithy-go.
func TestDomainImportsNoAWS(t *testing.T) {
	pkgs := make([]string, len(domain))
	for i, d := range domain {
		pkgs[i] = module + d
	}
	graph := goList(t, pkgs)
	isPending := func(path string) bool { _, ok := pending[strings.TrimPrefix(path, module)]; return ok }
	for _, d := range domain {
		root := module + d
		if _, ok := graph[root]; !ok {
			t.Errorf("%s: not found by go list", d)
			continue
		}
		// A pending package is looked into all the way, so its log shows
		// every chain left to cut.
		skip := isPending
		if isPending(root) {
			skip = func(string) bool { return false }
		}
		got := violations(graph, root, skip)
		switch {
		case isPending(root) && len(got) == 0:
			t.Logf("%s is on the pending list but imports no AWS now: take it off", d)
		case isPending(root):
			t.Logf("pending (%s): %s", pending[d], strings.Join(got, "; "))
		case len(got) > 0:
			t.Errorf("%s imports AWS:\n\t%s", d, strings.Join(got, "\n\t"))
		}
	}
}

// TestViolations shows the check catches what it must, on made-up graphs.
func TestViolations(t *testing.T) {
	const sqs = "github.com/aws/aws-sdk-go-v2/service/sqs"
	graph := map[string][]string{
		"direct":    {"fmt", sqs},
		"indirect":  {"mid"},
		"mid":       {"github.com/aws/smithy-go/transport/http"},
		"lambda":    {"github.com/aws/aws-lambda-go/events"},
		"viaPend":   {"pend"},
		"pend":      {sqs},
		"clean":     {"fmt", "mid2"},
		"mid2":      {"strings"},
		"lookalike": {"github.com/aws/aws-sdk-go-v2x"},
	}
	skip := func(p string) bool { return p == "pend" }
	tests := []struct {
		root string
		want []string
	}{
		{"direct", []string{"direct -> " + sqs}},
		{"indirect", []string{"indirect -> mid -> github.com/aws/smithy-go/transport/http"}},
		{"lambda", []string{"lambda -> github.com/aws/aws-lambda-go/events"}},
		{"viaPend", nil},
		{"pend", []string{"pend -> " + sqs}}, // the root itself is always looked into
		{"clean", nil},
		{"lookalike", nil},
	}
	for _, tc := range tests {
		t.Run(tc.root, func(t *testing.T) {
			if got := violations(graph, tc.root, skip); !slices.Equal(got, tc.want) {
				t.Errorf("violations(%s) = %q, want %q", tc.root, got, tc.want)
			}
		})
	}
}
