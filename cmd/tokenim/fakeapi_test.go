package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAPI stands in for the TokenIM REST API in the fast tests: it grants
// admin tokens and runs batch jobs by a script, and records every call.
type fakeAPI struct {
	t  *testing.T
	mu sync.Mutex
	// calls are "METHOD path" in order.
	calls []string
	// tokens issued so far; expiresIn for each.
	tokens    int
	expiresIn int
	// reject401 answers this many non-token requests 401 token_expired.
	reject401 int
	// jobs by id: polls move a job along its steps.
	jobs map[string]*fakeJob
	// submit decides a submit's reply (nil: accept as a queued job).
	submit func(n int, body []byte, hdr http.Header) (int, any)
	nsub   int
	// lastBody is the body of the request being served.
	lastBody []byte
	// other answers any other route.
	other func(w http.ResponseWriter, r *http.Request)
	srv   *httptest.Server
}

type fakeJob struct {
	steps []Job // each GET returns the next (the last repeats)
	polls int
	errs  []RowError
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, expiresIn: 3600, jobs: map[string]*fakeJob{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) profile() Profile {
	return Profile{Endpoint: f.srv.URL, KeyID: "tk_test", Secret: "tks_test"}
}

// env points the CLI at the fake through the environment.
func (f *fakeAPI) env(t *testing.T) {
	t.Helper()
	t.Setenv("TOKENIM_ENDPOINT", f.srv.URL)
	t.Setenv("TOKENIM_KEY_ID", "tk_test")
	t.Setenv("TOKENIM_SECRET", "tks_test")
	t.Setenv("TOKENIM_CONFIG", t.TempDir()+"/profiles.yaml")
}

func (f *fakeAPI) called(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func apiErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"request_id":"req-123"}}`, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.lastBody = body
	if r.URL.Path == "/v1/auth/token" {
		if id, secret, ok := r.BasicAuth(); !ok || id != "tk_test" || secret != "tks_test" {
			apiErr(w, 401, "invalid_client", "unknown key id or wrong secret")
			return
		}
		f.tokens++
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("tok-%d", f.tokens), "token_type": "Bearer", "expires_in": f.expiresIn})
		return
	}
	if r.Header.Get("Authorization") != fmt.Sprintf("Bearer tok-%d", f.tokens) {
		apiErr(w, 401, "unauthorized", "missing or stale token")
		return
	}
	if f.reject401 > 0 {
		f.reject401--
		apiErr(w, 401, "token_expired", "the token has expired")
		return
	}
	switch {
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/v1/jobs/") && r.URL.Path != "/v1/jobs/verify":
		f.nsub++
		if f.submit != nil {
			status, v := f.submit(f.nsub, body, r.Header)
			if e, ok := v.(*APIError); ok {
				apiErr(w, status, e.Code, e.Message)
				return
			}
			writeJSON(w, status, v)
			return
		}
		writeJSON(w, 202, Job{JobID: fmt.Sprintf("job_%d", f.nsub), State: "queued"})
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/errors"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/jobs/"), "/errors")
		writeJSON(w, 200, map[string]any{"errors": f.jobs[id].errs})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/jobs/"):
		j, ok := f.jobs[strings.TrimPrefix(r.URL.Path, "/v1/jobs/")]
		if !ok {
			apiErr(w, 404, "not_found", "no such job")
			return
		}
		i := min(j.polls, len(j.steps)-1)
		j.polls++
		writeJSON(w, 200, j.steps[i])
	case f.other != nil:
		f.other(w, r)
	default:
		apiErr(w, 404, "not_found", "no route")
	}
}
