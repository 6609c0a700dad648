package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audittest"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestJobsAreAudited: a job submitted leaves exactly one entry (actor,
// job.create, job:<id>), whatever its size; a dry run, a replay with the
// same Idempotency-Key, a refused file, reads and verify leave none.
func TestJobsAreAudited(t *testing.T) {
	f := newFixture(t, roomy)
	p := testenv.ID("aj")
	body := fmt.Sprintf(`[{"user_id":"%s-1"},{"user_id":"%s-2"}]`, p, p)
	keyed := submitReq("users", "application/json", body, nil)
	keyed.Headers["Idempotency-Key"] = testenv.ID("k")
	var jobID string
	steps := []struct {
		name   string
		req    func() testenv.REST
		status int
		entry  bool
	}{
		{"submit", func() testenv.REST { return keyed }, http.StatusOK, true},
		{"replay", func() testenv.REST { return keyed }, http.StatusOK, false},
		{"dry run", func() testenv.REST {
			return submitReq("users", "application/json", body, map[string]string{"dry_run": "true"})
		}, http.StatusOK, false},
		{"refused file", func() testenv.REST { return submitReq("users", "application/json", `{`, nil) }, http.StatusBadRequest, false},
		{"read the job", func() testenv.REST {
			return testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}", Path: "/v1/jobs/" + jobID,
				PathParams: map[string]string{"job_id": jobID}, Principal: testenv.Admin()}
		}, http.StatusOK, false},
		{"verify", func() testenv.REST {
			return testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify",
				Body: fmt.Sprintf(`{"user_ids":["%s-1"]}`, p), Principal: testenv.Admin()}
		}, http.StatusOK, false},
		{"a groups job", func() testenv.REST {
			return submitReq("groups", "application/json", fmt.Sprintf(`[{"group_id":"%s-g","owner_id":"%s-1"}]`, p, p), nil)
		}, http.StatusOK, true},
	}
	for _, s := range steps {
		before := len(f.audit.Entries())
		r := testenv.Call(t, f.handler, s.req())
		if r.Status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
		if jobID == "" {
			jobID, _ = r.JSON["job_id"].(string)
		}
		var want *audit.Entry
		if s.entry {
			want = &audit.Entry{Actor: "credential:tk_test", Action: "job.create", Target: "job:" + r.JSON["job_id"].(string)}
		}
		audittest.Want(t, s.name, f.audit.Entries()[before:], want)
	}
}
