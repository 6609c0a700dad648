// Package localtest is test support for suites that run the local stack
// (infra/local) with real function binaries: it builds the binaries once
// per test process and collects the functions' output.
package localtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds every function of template.yaml, the local stack's test
// function (infra/local/testdata/fn) and tokenim-local for this machine,
// once per test process, into .tokenim/test-bin-<pid>/<dir>/bootstrap
// (make build-local's layout, so local.Options.BinDir can point at it)
// and .tokenim/test-bin-<pid>/tokenim-local. One directory per process:
// several test binaries build concurrently; those of dead processes are
// removed.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { binDir, buildErr = build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func build() (string, error) {
	root := template.RepoRoot()
	state := filepath.Join(root, ".tokenim")
	old, _ := filepath.Glob(filepath.Join(state, "test-bin-*"))
	for _, d := range old {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "test-bin-"))
		if err == nil && syscall.Kill(pid, 0) != nil {
			os.RemoveAll(d)
		}
	}
	dir := filepath.Join(state, fmt.Sprintf("test-bin-%d", os.Getpid()))
	flat := filepath.Join(dir, "flat")
	if err := os.MkdirAll(flat, 0o755); err != nil {
		return "", err
	}
	tmpl, err := template.LoadDefault()
	if err != nil {
		return "", err
	}
	args := []string{"build", "-tags", "lambda.norpc", "-o", flat + string(filepath.Separator)}
	dirs := []string{"fn"}
	for _, f := range tmpl.Functions() {
		// A function whose template entry landed before its code is not
		// built, so the fixtures' stacks still start; a stack of
		// template.yaml then fails at Start ("no bootstrap").
		if _, err := os.Stat(filepath.Join(root, "functions", f.Dir)); err != nil {
			continue
		}
		args = append(args, "./functions/"+f.Dir)
		dirs = append(dirs, f.Dir)
	}
	cmd := exec.Command("go", append(args, "./infra/local/testdata/fn", "./infra/local/cmd/tokenim-local")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
		if err := os.Rename(filepath.Join(flat, d), filepath.Join(dir, d, "bootstrap")); err != nil {
			return "", err
		}
	}
	return dir, os.Rename(filepath.Join(flat, "tokenim-local"), filepath.Join(dir, "tokenim-local"))
}

// Log collects the functions' output (JSON log lines) for assertions;
// TOKENIM_TEST_LOG=1 also copies it to stderr.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("TOKENIM_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count returns the number of lines containing every one of substrs.
func (l *Log) Count(substrs ...string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		all := true
		for _, s := range substrs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// Grep returns the lines containing any of substrs (for failure messages).
func (l *Log) Grep(substrs ...string) string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		for _, s := range substrs {
			if strings.Contains(line, s) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
