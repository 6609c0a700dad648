package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs a command line against whatever the environment points at.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var o, e strings.Builder
	code := run(ctx, args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func TestClientRefreshesTokens(t *testing.T) {
	tests := []struct {
		name       string
		advance    time.Duration // clock moved between two calls
		reject401  int
		wantTokens int
		wantErr    string
	}{
		{name: "a valid token is reused", advance: 30 * time.Minute, wantTokens: 1},
		{name: "a token about to expire is replaced", advance: 59*time.Minute + 30*time.Second, wantTokens: 2},
		{name: "token_expired from the API: a new token, sent once more", reject401: 1, wantTokens: 2},
		{name: "a second 401 is the caller's", reject401: 2, wantTokens: 2, wantErr: "token_expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.other = func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"user_id": "u"}) }
			c := NewClient(f.profile())
			now := time.Now()
			c.now = func() time.Time { return now }
			ctx := context.Background()
			if _, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/users/u"}, nil); err != nil {
				t.Fatal(err)
			}
			now = now.Add(tt.advance)
			f.mu.Lock()
			f.reject401 = tt.reject401
			f.mu.Unlock()
			_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/users/u"}, nil)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err %v, want %q", err, tt.wantErr)
			}
			if f.tokens != tt.wantTokens {
				t.Errorf("%d tokens fetched, want %d", f.tokens, tt.wantTokens)
			}
		})
	}
}

func TestErrorsPrintCodeMessageRequestID(t *testing.T) {
	f := newFakeAPI(t)
	f.env(t)
	code, stdout, stderr := runCLI(t, context.Background(), "users", "get", "nobody")
	if code != exitError || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{"error: not_found", "message:    no route", "request id: req-123"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	t.Setenv("TOKENIM_SECRET", "wrong")
	if code, _, stderr := runCLI(t, context.Background(), "users", "get", "x"); code != exitError || !strings.Contains(stderr, "invalid_client") {
		t.Errorf("bad credential: exit %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, context.Background(), "users", "get"); code != exitUsage {
		t.Errorf("missing argument: exit %d", code)
	}
	if code, _, _ := runCLI(t, context.Background(), "users", "list", "--no-such-flag"); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, exitUsage)
	}
}

func TestProfileResolution(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "profiles.yaml")
	os.WriteFile(cfg, []byte("default: prod\nprofiles:\n  prod: {endpoint: https://prod.example, key_id: tk_prod, secret: s_prod}\n  stage: {endpoint: https://stage.example, key_id: tk_stage, secret: s_stage}\n"), 0o600)
	state := filepath.Join(dir, "state")
	os.MkdirAll(state, 0o700)
	os.WriteFile(filepath.Join(state, "local.json"), []byte(`{"rest_url":"http://127.0.0.1:3999","websocket_url":"ws://127.0.0.1:3998","admin":{"key_id":"tk_local","secret":"s_local"}}`), 0o600)
	tests := []struct {
		name  string
		flags globalFlags
		env   map[string]string
		want  Profile
		err   string
	}{
		{name: "the file's default", want: Profile{Endpoint: "https://prod.example", KeyID: "tk_prod", Secret: "s_prod"}},
		{name: "--profile", flags: globalFlags{profile: "stage"}, want: Profile{Endpoint: "https://stage.example", KeyID: "tk_stage", Secret: "s_stage"}},
		{name: "TOKENIM_PROFILE", env: map[string]string{"TOKENIM_PROFILE": "stage"}, want: Profile{Endpoint: "https://stage.example", KeyID: "tk_stage", Secret: "s_stage"}},
		{name: "environment over the profile", env: map[string]string{"TOKENIM_KEY_ID": "tk_env", "TOKENIM_SECRET": "s_env"},
			want: Profile{Endpoint: "https://prod.example", KeyID: "tk_env", Secret: "s_env"}},
		{name: "flags over the environment", flags: globalFlags{keyID: "tk_flag"}, env: map[string]string{"TOKENIM_KEY_ID": "tk_env"},
			want: Profile{Endpoint: "https://prod.example", KeyID: "tk_flag", Secret: "s_prod"}},
		{name: "--local reads local.json", flags: globalFlags{local: true},
			want: Profile{Endpoint: "http://127.0.0.1:3999", KeyID: "tk_local", Secret: "s_local", WebSocket: "ws://127.0.0.1:3998"}},
		{name: "unknown profile", flags: globalFlags{profile: "nope"}, err: `no profile "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"TOKENIM_PROFILE", "TOKENIM_ENDPOINT", "TOKENIM_KEY_ID", "TOKENIM_SECRET", "TOKENIM_TOKEN"} {
				t.Setenv(k, tt.env[k])
			}
			t.Setenv("TOKENIM_CONFIG", cfg)
			t.Setenv("TOKENIM_STATE", state)
			got, err := tt.flags.resolve()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestProfileSetThenUse(t *testing.T) {
	f := newFakeAPI(t)
	t.Setenv("TOKENIM_CONFIG", filepath.Join(t.TempDir(), "p.yaml"))
	if code, _, stderr := runCLI(t, context.Background(), "profile", "set", "fake", "--endpoint", f.srv.URL, "--key-id", "tk_test", "--secret", "tks_test"); code != 0 {
		t.Fatal(stderr)
	}
	if st, _ := os.Stat(os.Getenv("TOKENIM_CONFIG")); st.Mode().Perm() != 0o600 {
		t.Errorf("profile file mode %v, want 0600 (it holds secrets)", st.Mode().Perm())
	}
	f.other = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"users": []any{map[string]any{"user_id": "alice", "nickname": "Alice"}}, "next_cursor": "c2"})
	}
	code, stdout, stderr := runCLI(t, context.Background(), "users", "list")
	if code != 0 || !strings.Contains(stdout, "USER_ID") || !strings.Contains(stdout, "alice") || !strings.Contains(stdout, "--cursor c2") {
		t.Errorf("table output: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, context.Background(), "users", "list", "-o", "json")
	var v struct {
		Users []map[string]any `json:"users"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || len(v.Users) != 1 {
		t.Errorf("json output: exit %d %q", code, stdout)
	}
}

func TestReadSourceSplits(t *testing.T) {
	csvFile := "user_id,nickname\r\nu1,\"A, B\"\r\n\r\nu2,B\r\nu3,C\r\nu4\r\nu5,E\r\n"
	tests := []struct {
		name      string
		data      string
		format    string
		maxBytes  int
		maxRows   int
		wantRows  []int // rows per part
		wantFirst []int
	}{
		{name: "fits in one job", data: csvFile, format: "csv", maxBytes: 1 << 20, maxRows: 100, wantRows: []int{5}, wantFirst: []int{0}},
		{name: "row limit", data: csvFile, format: "csv", maxBytes: 1 << 20, maxRows: 2, wantRows: []int{2, 2, 1}, wantFirst: []int{0, 2, 4}},
		// header 17 bytes + rows of 10, 5, 5, 3 and 5 bytes
		{name: "byte limit", data: csvFile, format: "csv", maxBytes: 32, maxRows: 100, wantRows: []int{2, 3}, wantFirst: []int{0, 2}},
		{name: "json", data: `[{"user_id":"a"},{"user_id":"b"},{"user_id":"c"}]`, format: "json", maxBytes: 1 << 20, maxRows: 2, wantRows: []int{2, 1}, wantFirst: []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := readSource([]byte(tt.data), tt.format, tt.maxBytes, tt.maxRows)
			if err != nil {
				t.Fatal(err)
			}
			var rows, first []int
			total := 0
			for _, p := range s.parts {
				rows, first = append(rows, p.rows), append(first, p.first)
				if len(p.body) > tt.maxBytes {
					t.Errorf("part of %d bytes, limit %d", len(p.body), tt.maxBytes)
				}
				total += p.rows
				if tt.format == "csv" {
					r := csv.NewReader(strings.NewReader(string(p.body)))
					r.FieldsPerRecord = -1 // u4 is short: the API's row error, kept as it is
					recs, err := r.ReadAll()
					if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "user_id,nickname" {
						t.Errorf("part without the header: %q", p.body)
					}
				} else if !json.Valid(p.body) {
					t.Errorf("part is not JSON: %s", p.body)
				}
			}
			if !equalInts(rows, tt.wantRows) || !equalInts(first, tt.wantFirst) {
				t.Errorf("parts rows %v first %v, want %v %v", rows, first, tt.wantRows, tt.wantFirst)
			}
		})
	}
	for _, bad := range []struct{ data, format, want string }{
		{"user_id\n", "csv", "empty_file"},
		{"user_id\n\"unterminated\n", "csv", "invalid_csv"},
		{`{"user_id":"a"}`, "json", "invalid_json"},
	} {
		if _, err := readSource([]byte(bad.data), bad.format, 1<<20, 100); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err %v, want %s", bad.data, err, bad.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A failed-rows file, fixed, imports as it is: the row,id,code,message
// columns are dropped.
func TestFailedRowsFileReimports(t *testing.T) {
	s, err := readSource([]byte("row,id,code,message,user_id,nickname\n3,bad id,invalid_id,not an id,good-id,Fixed\n"), "csv", 1<<20, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.parts[0].body); got != "user_id,nickname\ngood-id,Fixed\n" {
		t.Errorf("body %q", got)
	}
}

// job returns a fake job's steps: queued, halfway, then done with failed rows.
func jobSteps(id string, total, failed int) []Job {
	return []Job{
		{JobID: id, State: "queued", Total: total, Pending: total},
		{JobID: id, State: "running", Total: total, Created: total / 2, Pending: total - total/2},
		{JobID: id, State: "partially_failed", Total: total, Created: total - failed, Failed: failed},
	}
}

func TestImportSplitsWatchesAndWritesFailedRows(t *testing.T) {
	f := newFakeAPI(t)
	f.env(t)
	keys := map[string]bool{}
	f.submit = func(n int, body []byte, hdr http.Header) (int, any) {
		keys[hdr.Get("Idempotency-Key")] = true
		id := []string{"", "job_a", "job_b"}[n]
		f.jobs[id] = &fakeJob{steps: jobSteps(id, 2, 1), errs: []RowError{{Row: 2, ID: "x" + id, Code: "user_exists", Message: "exists"}}}
		return 202, Job{JobID: id, State: "queued", Total: 2, Pending: 2}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "in.csv")
	os.WriteFile(file, []byte("user_id,nickname\nu1,A\nxjob_a,B\nu3,C\nxjob_b,D\n"), 0o600)
	code, stdout, stderr := runCLI(t, context.Background(), "import", "users", file, "--max-rows", "2", "--interval", "1ms")
	if code != exitRowsFailed {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitRowsFailed, stdout, stderr)
	}
	if len(keys) != 2 || keys[""] {
		t.Errorf("idempotency keys %v: want one per job", keys)
	}
	if !strings.Contains(stdout, "4 rows: 2 created, 2 failed") || !strings.Contains(stdout, "in.failed.csv (fix them and run tokenim import again with this file)") || !strings.Contains(stderr, "sent as 2 jobs") || !strings.Contains(stderr, "created 2, failed 2") {
		t.Errorf("summary/progress:\n%s\n%s", stdout, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "in.failed.csv"))
	want := "row,id,code,message,user_id,nickname\n2,xjob_a,user_exists,exists,xjob_a,B\n4,xjob_b,user_exists,exists,xjob_b,D\n"
	if string(b) != want {
		t.Errorf("failed rows file:\n%s\nwant\n%s", b, want)
	}
}

func TestImportWaitsForQuota(t *testing.T) {
	f := newFakeAPI(t)
	f.env(t)
	f.submit = func(n int, body []byte, hdr http.Header) (int, any) {
		if n == 1 {
			f.jobs["job_a"] = &fakeJob{steps: jobSteps("job_a", 1, 0)}
			return 202, Job{JobID: "job_a", State: "queued", Total: 1, Pending: 1}
		}
		if !f.jobs["job_a"].steps[min(f.jobs["job_a"].polls, 2)].finished() || f.jobs["job_a"].polls < 3 {
			return 429, &APIError{Code: "quota_exceeded", Message: "5 jobs are queued or running"}
		}
		f.jobs["job_b"] = &fakeJob{steps: []Job{{JobID: "job_b", State: "succeeded", Total: 1, Created: 1}}}
		return 202, Job{JobID: "job_b", State: "queued", Total: 1, Pending: 1}
	}
	file := filepath.Join(t.TempDir(), "in.json")
	os.WriteFile(file, []byte(`[{"user_id":"a"},{"user_id":"b"}]`), 0o600)
	code, stdout, stderr := runCLI(t, context.Background(), "import", "users", file, "--max-rows", "1", "--interval", "1ms", "--no-progress")
	if code != 0 || !strings.Contains(stdout, "2 rows: 2 created, 0 failed") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
	if f.called("POST /v1/jobs/users") < 3 {
		t.Errorf("the refused submit was not retried: %v", f.calls)
	}
}

// Ctrl-C stops watching: nothing is cancelled, the next job is not
// submitted, and the message says how to resume.
func TestImportInterruptStopsWatchingOnly(t *testing.T) {
	f := newFakeAPI(t)
	f.env(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.submit = func(n int, body []byte, hdr http.Header) (int, any) {
		f.jobs["job_a"] = &fakeJob{steps: []Job{{JobID: "job_a", State: "running", Total: 1, Pending: 1}}}
		return 202, Job{JobID: "job_a", State: "queued", Total: 1, Pending: 1}
	}
	f.other = nil
	file := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(file, []byte("user_id\na\n"), 0o600)
	go func() {
		deadline := time.Now().Add(5 * time.Second)
		for f.called("GET /v1/jobs/job_a") < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	code, _, stderr := runCLI(t, ctx, "import", "users", file, "--interval", "10ms")
	if code != exitInterrupted || !strings.Contains(stderr, "nothing was cancelled") || !strings.Contains(stderr, "tokenim jobs watch job_a") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "DELETE") {
			t.Errorf("interrupt sent %s", c)
		}
	}
	// Resuming from another terminal finishes the watch.
	f.jobs["job_a"] = &fakeJob{steps: jobSteps("job_a", 4, 1), errs: []RowError{{Row: 3, ID: "c", Code: "user_exists", Message: "exists"}}}
	out := filepath.Join(t.TempDir(), "failed.csv")
	code, stdout, stderr := runCLI(t, context.Background(), "jobs", "watch", "job_a", "--interval", "1ms", "--failed-rows", out, "-o", "json")
	var s summary
	if code != exitRowsFailed || json.Unmarshal([]byte(stdout), &s) != nil || s.Created != 3 || s.Failed != 1 {
		t.Errorf("jobs watch: exit %d %s %s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "row,id,code,message\n3,c,user_exists,exists\n" {
		t.Errorf("failed rows %q", b)
	}
}

func TestDeprecatedRouteWarnsOnce(t *testing.T) {
	f := newFakeAPI(t)
	f.env(t)
	f.other = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Deprecation", "@1798761600")
		w.Header().Set("Sunset", "Thu, 01 Jul 2027 00:00:00 GMT")
		w.Header().Set("Link", `</v1/new>; rel="successor-version"`)
		writeJSON(w, 200, map[string]any{"user_id": "u"})
	}
	_, _, stderr := runCLI(t, context.Background(), "users", "get", "u")
	want := `warning: GET /v1/users/u is deprecated; it stops working after Thu, 01 Jul 2027 00:00:00 GMT; use instead: </v1/new>; rel="successor-version"`
	if !strings.Contains(stderr, want) || strings.Count(stderr, "warning:") != 1 {
		t.Errorf("stderr %q, want one %q", stderr, want)
	}
}

// update sends only the fields given on the command line.
func TestUpdateSendsOnlyGivenFlags(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantBody string
	}{
		{[]string{"users", "update", "u", "--nickname", ""}, 0, `{"nickname":""}`},
		{[]string{"users", "update", "u", "--avatar-url", "https://x.example/a.png", "--metadata", "plan=pro"}, 0, `{"avatar_url":"https://x.example/a.png","metadata":{"plan":"pro"}}`},
		{[]string{"groups", "update", "g", "--name", "G"}, 0, `{"name":"G"}`},
		{[]string{"users", "update", "u"}, exitUsage, ""},
		{[]string{"users", "update", "u", "--metadata", "novalue"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := newFakeAPI(t)
			f.env(t)
			var got string
			f.other = func(w http.ResponseWriter, r *http.Request) {
				if r.Method == "PATCH" {
					got = string(f.lastBody)
				}
				writeJSON(w, 200, map[string]any{"user_id": "u"})
			}
			code, _, stderr := runCLI(t, context.Background(), tt.args...)
			if code != tt.wantCode || strings.TrimSpace(got) != tt.wantBody {
				t.Errorf("exit %d, body %q; want %d, %q (%s)", code, got, tt.wantCode, tt.wantBody, stderr)
			}
		})
	}
}

// TestCredentialsCommands: each credentials command calls its route with
// its body (docs/openapi.yaml, listCredentials, createCredential,
// updateCredential, deleteCredential) and prints the reply as a table
// or, with -o json, as the API's JSON.
func TestCredentialsCommands(t *testing.T) {
	cred := map[string]any{"key_id": "tk_new", "name": "ops", "scopes": []string{"users:read", "jobs:read"}, "disabled": false, "created_at": "2026-12-02T00:00:00Z"}
	tests := []struct {
		args               []string
		wantCall, wantBody string
		wantOut            []string
	}{
		{[]string{"credentials", "create", "--name", "ops", "--scopes", "users:read,jobs:read"}, "POST /v1/credentials",
			`{"name":"ops","scopes":["users:read","jobs:read"]}`, []string{"key_id", "tk_new", "users:read,jobs:read"}},
		{[]string{"credentials", "create", "--scopes", "users:read", "--scopes", "jobs:read"}, "POST /v1/credentials",
			`{"scopes":["users:read","jobs:read"]}`, nil},
		{[]string{"credentials", "create"}, "POST /v1/credentials", `{}`, nil},
		{[]string{"credentials", "list", "--limit", "2"}, "GET /v1/credentials?limit=2", "",
			[]string{"KEY_ID", "NAME", "SCOPES", "DISABLED", "tk_new", "ops", "users:read,jobs:read", "next page: --cursor c2"}},
		{[]string{"credentials", "disable", "tk_new"}, "PATCH /v1/credentials/tk_new", `{"disabled":true}`, []string{"disabled"}},
		{[]string{"credentials", "enable", "tk_new"}, "PATCH /v1/credentials/tk_new", `{"disabled":false}`, nil},
		{[]string{"credentials", "delete", "tk_new"}, "DELETE /v1/credentials/tk_new", "", nil},
		{[]string{"-o", "json", "credentials", "list"}, "GET /v1/credentials", "", []string{`"credentials": [`, `"next_cursor": "c2"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := newFakeAPI(t)
			f.env(t)
			var call, body string
			f.other = func(w http.ResponseWriter, r *http.Request) {
				call, body = r.Method+" "+r.URL.RequestURI(), string(f.lastBody)
				switch r.Method {
				case "DELETE":
					w.WriteHeader(204)
				case "GET":
					writeJSON(w, 200, map[string]any{"credentials": []any{cred}, "next_cursor": "c2"})
				case "POST":
					writeJSON(w, 201, cred)
				default:
					writeJSON(w, 200, cred)
				}
			}
			code, stdout, stderr := runCLI(t, context.Background(), tt.args...)
			if code != 0 || call != tt.wantCall || strings.TrimSpace(body) != tt.wantBody {
				t.Fatalf("exit %d, called %q with %q; want %q with %q (%s)", code, call, body, tt.wantCall, tt.wantBody, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}
