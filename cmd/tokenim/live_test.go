package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/testenv"
)

// liveStack runs the local stack (infra/local, the real function
// binaries) against the emulator, writes its local.json into a temporary
// TOKENIM_STATE like make dev does, and stops it when the test ends.
func liveStack(t *testing.T) *liveInfo {
	t.Helper()
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	bins := localtest.Binaries(t)
	logw := stackLog()
	out := &localtest.Log{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := local.Start(ctx, local.Options{Template: env.Template, AWS: env.Cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL"),
		Prefix: testenv.ID("cli") + "-", RESTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Concurrency: 4, SQSWait: time.Second,
		BinDir: bins, Output: io.MultiWriter(out, logw), Log: slog.New(slog.NewJSONHandler(logw, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	cred, err := local.CreateCredential(ctx, local.StoreFor(s, env.DB(env.Cfg)), "cli test")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	if err := local.WriteInfo(filepath.Join(state, "local.json"), local.Info{RESTURL: s.RESTURL, WebSocketURL: s.WebSocketURL, Admin: cred}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOKENIM_STATE", state)
	t.Setenv("TOKENIM_CONFIG", filepath.Join(state, "profiles.yaml"))
	return &liveInfo{stack: s, cred: cred, state: state}
}

// liveInfo is a running local stack and its credential.
type liveInfo struct {
	stack *local.Stack
	cred  local.AdminCred
	state string // TOKENIM_STATE
}

// cli runs one tokenim command line (bounded to 2 minutes).
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return cliWithin(t, 2*time.Minute, args...)
}

// cliWithin is cli bounded to d.
func cliWithin(t *testing.T, d time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var o, e bytes.Buffer
	code = run(ctx, args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

// TestLiveImport10000 imports 10,000 users with bad rows of both kinds
// (refused by validation: invalid ids, duplicates; failed by the worker:
// ids that exist already) through the local stack, split into three jobs,
// and checks the summary, the exit status and the failed-rows file.
func TestLiveImport10000(t *testing.T) {
	liveStack(t)
	prefix := testenv.ID("imp")
	// Users that exist before the import: their rows fail with user_exists.
	existing := map[int]bool{}
	for i := 0; i < 10000; i += 500 {
		existing[i] = true
		if code, _, stderr := cli(t, "--local", "users", "create", fmt.Sprintf("%s-%05d", prefix, i)); code != 0 {
			t.Fatalf("users create: %d %s", code, stderr)
		}
	}
	want := map[int]string{} // file row (1-based) -> code
	var b strings.Builder
	b.WriteString("user_id,nickname,metadata.class\n")
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("%s-%05d", prefix, i)
		switch {
		case i%97 == 13:
			id, want[i+1] = "bad id "+strconv.Itoa(i), "invalid_id"
		case i%89 == 7 && want[i] != "invalid_id": // the previous row's id, when that row has one
			id, want[i+1] = fmt.Sprintf("%s-%05d", prefix, i-1), "duplicate_id"
		case existing[i]:
			want[i+1] = "user_exists"
		}
		fmt.Fprintf(&b, "%s,Student %d,7B\n", id, i)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "students.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// 10,000 rows through the emulator: about 30 s on moto, up to 5
	// minutes on LocalStack when its stream triggers (events, delivery)
	// share the machine.
	code, stdout, stderr := cliWithin(t, 8*time.Minute, "--local", "import", "users", file, "--max-rows", "4000", "--interval", "300ms", "-o", "json")
	t.Logf("import of 10,000 rows: %.1f s", time.Since(start).Seconds())
	if code != exitRowsFailed {
		t.Fatalf("exit %d, want %d (rows failed)\nstdout %s\nstderr %s", code, exitRowsFailed, stdout, stderr)
	}
	var s summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	if s.Total != 10000 || s.Failed != len(want) || s.Created != 10000-len(want) || s.Pending != 0 || len(s.Jobs) != 3 {
		t.Errorf("summary %+v, want total 10000, failed %d, created %d, 3 jobs", s, len(want), 10000-len(want))
	}
	for _, w := range []string{"sent as 3 jobs", "rows", "created", "failed"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr (progress) lacks %q:\n%s", w, stderr)
		}
	}
	got := readFailedFile(t, filepath.Join(dir, "students.failed.csv"))
	if len(got) != len(want) {
		t.Errorf("failed-rows file has %d rows, want %d", len(got), len(want))
	}
	for row, code := range want {
		if got[row] != code {
			t.Errorf("failed-rows file, row %d: code %q, want %q", row, got[row], code)
		}
	}
	// A created row and a refused one, as the API sees them.
	if code, _, stderr := cli(t, "--local", "users", "get", fmt.Sprintf("%s-%05d", prefix, 9999)); code != 0 {
		t.Errorf("users get of an imported user: %d %s", code, stderr)
	}
}

// readFailedFile returns row -> code of a failed-rows file, checking its
// header carries the original columns after row,id,code,message.
func readFailedFile(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "row,id,code,message,user_id,nickname,metadata.class" {
		t.Fatalf("failed-rows header %q", got)
	}
	out := map[int]string{}
	for _, r := range recs[1:] {
		n, _ := strconv.Atoi(r[0])
		out[n] = r[2]
		if r[4] != r[1] && r[2] != "duplicate_id" {
			t.Errorf("row %d: id %q but the original row says %q", n, r[1], r[4])
		}
	}
	return out
}

// TestLiveDryRunCreatesNothing: --dry-run reports the bad rows and exits
// 3, and none of the good rows exists afterwards.
func TestLiveDryRunCreatesNothing(t *testing.T) {
	liveStack(t)
	prefix := testenv.ID("dry")
	file := filepath.Join(t.TempDir(), "dry.json")
	rows := []map[string]string{}
	for i := 0; i < 150; i++ {
		rows = append(rows, map[string]string{"user_id": fmt.Sprintf("%s-%03d", prefix, i)})
	}
	rows[10]["user_id"] = "no spaces allowed"
	b, _ := json.Marshal(rows)
	os.WriteFile(file, b, 0o600)
	code, stdout, stderr := cli(t, "--local", "import", "users", file, "--dry-run", "--no-progress")
	if code != exitRowsFailed || !strings.Contains(stdout, "150 rows: 149 valid, 1 failed") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, i := range []int{0, 75, 149} {
		code, _, stderr := cli(t, "--local", "users", "get", fmt.Sprintf("%s-%03d", prefix, i))
		if code != exitError || !strings.Contains(stderr, "error: not_found") || !strings.Contains(stderr, "request id: ") {
			t.Errorf("after a dry run, users get %d: exit %d, %s", i, code, stderr)
		}
	}
}

// TestLiveJSONOutput: --output json prints the API's objects, which parse.
func TestLiveJSONOutput(t *testing.T) {
	liveStack(t)
	id := testenv.ID("js")
	for _, args := range [][]string{
		{"users", "create", id, "--nickname", "J", "--metadata", "plan=pro"},
		{"users", "get", id},
		{"users", "list", "--limit", "5"},
		{"groups", "create", id + "-g", "--owner", id, "--name", "G"},
		{"members", "list", id + "-g"},
		{"tokens", "create", id, "--ttl", "600"},
		{"credentials", "create", "--name", "cli"},
	} {
		code, stdout, stderr := cli(t, append([]string{"--local", "-o", "json"}, args...)...)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || len(v) == 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// TestLiveCredentials: a credential created with --scopes holds only
// those (its token lists users but may not create one), is listed, is
// refused while disabled and again after an enable works, and is gone
// after delete.
func TestLiveCredentials(t *testing.T) {
	live := liveStack(t)
	code, stdout, stderr := cli(t, "--local", "-o", "json", "credentials", "create", "--name", "live-scoped", "--scopes", "users:read")
	var cred struct {
		KeyID  string   `json:"key_id"`
		Secret string   `json:"secret"`
		Scopes []string `json:"scopes"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &cred) != nil || cred.Secret == "" || strings.Join(cred.Scopes, ",") != "users:read" {
		t.Fatalf("create: exit %d %s %s", code, stdout, stderr)
	}
	as := func(args ...string) (int, string) {
		t.Helper()
		code, stdout, stderr := cli(t, append([]string{"--endpoint", live.stack.RESTURL, "--key-id", cred.KeyID, "--secret", cred.Secret}, args...)...)
		return code, stdout + stderr
	}
	if code, out := as("users", "list", "--limit", "1"); code != 0 {
		t.Fatalf("the scoped credential lists users: exit %d %s", code, out)
	}
	if code, out := as("users", "create", testenv.ID("nope")); code == 0 || !strings.Contains(out, "scope_required") {
		t.Errorf("the scoped credential creates a user: exit %d %s", code, out)
	}
	listed := func() map[string]bool {
		t.Helper()
		code, stdout, stderr := cli(t, "--local", "-o", "json", "credentials", "list", "--limit", "100")
		var page struct {
			Credentials []struct {
				KeyID    string `json:"key_id"`
				Disabled bool   `json:"disabled"`
			} `json:"credentials"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &page) != nil {
			t.Fatalf("list: exit %d %s %s", code, stdout, stderr)
		}
		out := map[string]bool{}
		for _, c := range page.Credentials {
			out[c.KeyID] = c.Disabled
		}
		return out
	}
	if disabled, ok := listed()[cred.KeyID]; !ok || disabled {
		t.Fatalf("list: %s listed %v, disabled %v", cred.KeyID, ok, disabled)
	}
	if code, stdout, stderr := cli(t, "--local", "credentials", "disable", cred.KeyID); code != 0 || !regexp.MustCompile(`disabled\s+true`).MatchString(stdout) {
		t.Fatalf("disable: exit %d %s %s", code, stdout, stderr)
	}
	if code, out := as("users", "list", "--limit", "1"); code == 0 {
		t.Errorf("a disabled credential still works: %s", out)
	}
	if !listed()[cred.KeyID] {
		t.Error("list does not show the credential disabled")
	}
	if code, stdout, stderr := cli(t, "--local", "credentials", "enable", cred.KeyID); code != 0 || !regexp.MustCompile(`disabled\s+false`).MatchString(stdout) {
		t.Fatalf("enable: exit %d %s %s", code, stdout, stderr)
	}
	if code, out := as("users", "list", "--limit", "1"); code != 0 {
		t.Errorf("an enabled credential is refused: %s", out)
	}
	if code, _, stderr := cli(t, "--local", "credentials", "delete", cred.KeyID); code != 0 {
		t.Fatalf("delete: exit %d %s", code, stderr)
	}
	if _, ok := listed()[cred.KeyID]; ok {
		t.Error("a deleted credential is still listed")
	}
	if code, out := as("users", "list", "--limit", "1"); code == 0 {
		t.Errorf("a deleted credential still works: %s", out)
	}
}

// TestLiveImportGroups: a small groups file is processed within the
// submit call (200, finished job); a row whose owner does not exist fails
// with not_found, the others are created.
func TestLiveImportGroups(t *testing.T) {
	liveStack(t)
	p := testenv.ID("grp")
	for _, u := range []string{p + "-t", p + "-s1", p + "-s2"} {
		if code, _, stderr := cli(t, "--local", "users", "create", u); code != 0 {
			t.Fatal(stderr)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "classes.csv")
	os.WriteFile(file, []byte(fmt.Sprintf("group_id,owner_id,name,members\n%[1]s-a,%[1]s-t,A,\"%[1]s-s1 %[1]s-s2\"\n%[1]s-b,%[1]s-nobody,B,\n%[1]s-c,%[1]s-t,C,%[1]s-s1\n", p)), 0o600)
	code, stdout, stderr := cli(t, "--local", "import", "groups", file, "--no-progress")
	if code != exitRowsFailed || !strings.Contains(stdout, "3 rows: 2 created, 1 failed") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if got := readFailedCodes(t, filepath.Join(dir, "classes.failed.csv")); got != "2:not_found" {
		t.Errorf("failed rows %q, want 2:not_found", got)
	}
	code, stdout, _ = cli(t, "--local", "members", "list", p+"-a", "-o", "json")
	var page struct {
		Members []map[string]any `json:"members"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &page) != nil || len(page.Members) != 3 {
		t.Errorf("members of the imported group: exit %d %s", code, stdout)
	}
}

// readFailedCodes returns a failed-rows file as "row:code,row:code".
func readFailedCodes(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0]+":"+r[2])
	}
	return strings.Join(out, ",")
}

// stackLog is where the local stack's logs go: stderr with
// TOKENIM_TEST_LOG set (docs/testing.md, "Diagnosing a failure").
func stackLog() io.Writer {
	if os.Getenv("TOKENIM_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
