package main

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/batch/batchtest"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/queue/lambdasqs"
	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
	"github.com/tokenim/tokenim/shared/verify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the jobs function plus a worker fed by the real queue the way
// Lambda feeds it (batchtest.Poller).
type fixture struct {
	env     *testenv.Env
	db      testenv.Stores
	handler any
	poller  *batchtest.Poller
	audit   *memstore.Audit
}

// roomy limits, so tests sharing the tables never trip each other's quota.
var roomy = batch.Config{MaxActiveJobs: 1000, MaxRowsPerDay: 100_000_000}

func newFixture(t testing.TB, limits batch.Config, opts ...batch.ProcessorOptions) fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.Stores()
	log := logging.NewTo(io.Discard, "jobs")
	groups := batch.ChatGroups{Chat: chat.NewService(db.Chat, env.Cursors, chat.Config{}, chat.Options{}), Groups: db.Groups}
	opt := batch.ProcessorOptions{}
	if len(opts) > 0 {
		opt = opts[0]
	}
	opt.Groups = groups
	proc := batch.NewProcessor(db.Jobs, log, opt)
	alog := memstore.NewAudit()
	h := NewHandler(batch.NewService(db.Jobs, env.Queue("BatchQueue"), proc, env.Cursors, limits, log), verify.New(db.Jobs, db.Groups),
		audit.NewRecorder(alog, 0, log, nil), log)
	worker := lambdasqs.Handler(&queue.Runner{Log: log, Parallel: 10, Process: func(ctx context.Context, r queue.Record) error { return proc.HandleMessage(ctx, r.Body) }})
	poller := env.Poller("BatchQueue", worker)
	poller.Visibility = 2
	return fixture{env: env, db: db, handler: h.Handle, poller: poller, audit: alog}
}

func submitReq(kind, contentType, body string, query map[string]string) testenv.REST {
	return testenv.REST{Method: "POST", Resource: "/v1/jobs/" + kind, Path: "/v1/jobs/" + kind, Query: query,
		Headers: map[string]string{"Content-Type": contentType}, Body: body, Principal: testenv.Admin()}
}

func (f fixture) submit(t testing.TB, kind, contentType, body string) testenv.Reply {
	t.Helper()
	r := testenv.Call(t, f.handler, submitReq(kind, contentType, body, nil))
	if r.Status != http.StatusAccepted && r.Status != http.StatusOK {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	return r
}

func (f fixture) job(t testing.TB, id string) testenv.Reply {
	t.Helper()
	r := testenv.Call(t, f.handler, testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}", Path: "/v1/jobs/" + id,
		PathParams: map[string]string{"job_id": id}, Principal: testenv.Admin()})
	if r.Status != 200 {
		t.Fatalf("get job: %d %s", r.Status, r.Body)
	}
	return r
}

// wait runs the worker until the job finishes (bounded by 2 minutes).
func (f fixture) wait(t testing.TB, id string) testenv.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := f.poller.Run(ctx, 2, func() bool {
		j, err := f.db.Jobs.GetJob(ctx, id)
		return err == nil && j.Finished()
	})
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	return f.job(t, id)
}

func num(r testenv.Reply, k string) int { v, _ := r.JSON[k].(float64); return int(v) }

// checkCounts asserts the job's counters, and that they add up.
func checkCounts(t testing.TB, r testenv.Reply, state string, total, created, failed int) {
	t.Helper()
	if r.JSON["state"] != state || num(r, "total") != total || num(r, "created") != created || num(r, "failed") != failed ||
		num(r, "pending") != total-created-failed {
		t.Fatalf("job %s, want state %s total %d created %d failed %d", r.Body, state, total, created, failed)
	}
}

func TestRoutesMatchTemplate(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(nil, nil, nil, logging.NewTo(io.Discard, "jobs"))
	if got, want := h.Routes(), tmpl.RestRoutesOf("JobsFunction"); !reflect.DeepEqual(got, want) {
		t.Fatalf("handler routes %v != template routes %v", got, want)
	}
}

// TestUsersCSVJob: the seeds' scenario: a class list as CSV, a few rows bad,
// one id taken already. Valid rows are created, the others reported.
func TestUsersCSVJob(t *testing.T) {
	f := newFixture(t, roomy)
	p := testenv.ID("stu")
	taken := p + "-taken"
	if _, err := f.db.Jobs.CreateUserForJob(context.Background(), users.User{UserID: taken, Nickname: "Old", CreatedAt: time.Now(), UpdatedAt: time.Now(), Gen: 1}, ""); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("user_id,nickname,avatar_url,metadata.class\r\n")
	n := 450 // three chunks: the job is queued, not inline
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s-%03d,\"Student, %d\",,7B\r\n", p, i, i)
	}
	b.WriteString("bad#id,X,,\r\n")               // row 451
	b.WriteString(taken + ",New,,\r\n")           // row 452: exists
	b.WriteString(p + "-001,Again,,\r\n")         // row 453: duplicate of row 1
	b.WriteString(p + "-x,Y,ftp://no,\r\n")       // row 454: bad avatar
	b.WriteString(p + "-y,Extra,,7B,surplus\r\n") // row 455: 5 fields, the header has 4
	r := f.submit(t, "users", "text/csv", b.String())
	if r.Status != http.StatusAccepted || r.Headers["Location"] != "/v1/jobs/"+r.JSON["job_id"].(string) {
		t.Fatalf("submit: %d %v %s", r.Status, r.Headers, r.Body)
	}
	checkCounts(t, r, "queued", 455, 0, 4)
	if num(r, "invalid") != 4 || num(r, "chunks") != 3 || len(r.JSON["errors"].([]any)) != 4 {
		t.Fatalf("submit reply %s", r.Body)
	}
	id := r.JSON["job_id"].(string)
	done := f.wait(t, id)
	checkCounts(t, done, "partially_failed", 455, n, 5)
	if done.JSON["finished_at"] == nil || done.JSON["started_at"] == nil || num(done, "chunks_done") != 3 {
		t.Fatalf("finished job %s", done.Body)
	}

	// Errors in row order, as JSON pages and as CSV.
	var rows []string
	cursor := ""
	for page := 0; page < 10; page++ {
		q := map[string]string{"limit": "3"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		e := testenv.Call(t, f.handler, testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + id + "/errors",
			PathParams: map[string]string{"job_id": id}, Query: q, Principal: testenv.Admin()})
		if e.Status != 200 {
			t.Fatalf("errors: %d %s", e.Status, e.Body)
		}
		for _, x := range e.JSON["errors"].([]any) {
			m := x.(map[string]any)
			rows = append(rows, fmt.Sprintf("%v:%v", m["row"], m["code"]))
		}
		cursor, _ = e.JSON["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	want := []string{"451:invalid_id", "452:user_exists", "453:duplicate_id", "454:validation_failed", "455:invalid_csv"}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("errors %v, want %v", rows, want)
	}
	csvReq := testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + id + "/errors",
		PathParams: map[string]string{"job_id": id}, Headers: map[string]string{"Accept": "text/csv"}, Principal: testenv.Admin()}
	c := testenv.Call(t, f.handler, csvReq)
	recs, err := csv.NewReader(strings.NewReader(c.Body)).ReadAll()
	if err != nil || c.Status != 200 || !strings.HasPrefix(c.Headers["Content-Type"], "text/csv") || len(recs) != 6 ||
		!reflect.DeepEqual(recs[0], []string{"row", "id", "code", "message"}) || recs[2][1] != taken || recs[2][2] != "user_exists" {
		t.Fatalf("csv errors: %d %v %q %v", c.Status, c.Headers, c.Body, err)
	}

	// The users exist with the file's data; the existing one is untouched.
	u, err := f.db.Users.GetUser(context.Background(), p+"-001")
	if err != nil || u.Nickname != "Student, 1" || u.Metadata["class"] != "7B" {
		t.Fatalf("user 1: %+v %v", u, err)
	}
	if u, err := f.db.Users.GetUser(context.Background(), taken); err != nil || u.Nickname != "Old" {
		t.Fatalf("existing user overwritten: %+v %v", u, err)
	}
	v := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify",
		Body: fmt.Sprintf(`{"user_ids":["%s-001","%s-450","%s","%s-x","%s-001"]}`, p, p, taken, p, p), Principal: testenv.Admin()})
	if v.Status != 200 || fmt.Sprint(v.JSON["existing"]) != fmt.Sprintf("[%s-001 %s-450 %s]", p, p, taken) ||
		fmt.Sprint(v.JSON["missing"]) != fmt.Sprintf("[%s-x]", p) {
		t.Fatalf("verify: %d %s", v.Status, v.Body)
	}
}

// TestSmallJobInline: a small JSON file is done within the call (200, final
// state), and the JSON rows' own errors are reported.
func TestSmallJobInline(t *testing.T) {
	f := newFixture(t, roomy)
	a, b := testenv.ID("in"), testenv.ID("in")
	body := fmt.Sprintf(`[{"user_id":%q,"nickname":"A","metadata":{"k":"v"}},{"user_id":%q,"role":"admin"},{"user_id":%q}]`, a, a+"x", b)
	r := f.submit(t, "users", "application/json", body)
	if r.Status != 200 || r.Headers["Location"] == "" {
		t.Fatalf("inline: %d %s", r.Status, r.Body)
	}
	checkCounts(t, r, "partially_failed", 3, 2, 1)
	if e := r.JSON["errors"].([]any)[0].(map[string]any); e["row"] != 2.0 || e["code"] != "unknown_field" || e["id"] != a+"x" {
		t.Fatalf("errors %s", r.Body)
	}
	if u, err := f.db.Users.GetUser(context.Background(), a); err != nil || u.Metadata["k"] != "v" {
		t.Fatalf("user: %+v %v", u, err)
	}
	// Submitting the same file again: every valid row is user_exists.
	again := f.submit(t, "users", "application/json", body)
	checkCounts(t, again, "failed", 3, 0, 3)
}

func TestDryRun(t *testing.T) {
	f := newFixture(t, roomy)
	id := testenv.ID("dry")
	r := testenv.Call(t, f.handler, submitReq("users", "text/csv", "user_id\n"+id+"\nbad#\n", map[string]string{"dry_run": "true"}))
	if r.Status != 200 || r.JSON["state"] != "validated" || r.JSON["dry_run"] != true || r.JSON["job_id"] != nil ||
		num(r, "pending") != 1 || num(r, "failed") != 1 || r.Headers["Location"] != "" {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	if _, err := f.db.Users.GetUser(context.Background(), id); err == nil {
		t.Fatal("dry run created a user")
	}
}

// TestBadInput: every unusable request gets its code and writes nothing.
func TestBadInput(t *testing.T) {
	f := newFixture(t, roomy)
	id := testenv.ID("never")
	csvReq := func(body string) testenv.REST { return submitReq("users", "text/csv", body, nil) }
	// API Gateway hands text/csv (a binary media type) over base64-encoded.
	binary := func(raw []byte) testenv.REST { return csvReq(base64.StdEncoding.EncodeToString(raw)) }
	jobID := f.submit(t, "users", "text/csv", "user_id\n"+testenv.ID("ok")+"\n").JSON["job_id"].(string)
	tests := []struct {
		name   string
		req    testenv.REST
		base64 bool
		status int
		code   string
	}{
		{"empty file", csvReq(""), false, 400, "empty_file"},
		{"header only", csvReq("user_id,nickname\r\n"), false, 400, "empty_file"},
		{"missing required column", csvReq("nickname\n" + id + "\n"), false, 400, "invalid_csv"},
		{"unknown column", csvReq("user_id,nick_name\n" + id + ",A\n"), false, 400, "invalid_csv"},
		{"bad quoting", csvReq("user_id,nickname\n" + id + ",\"A\n"), false, 400, "invalid_csv"},
		{"non-UTF-8 bytes", binary([]byte("user_id,nickname\n" + id + ",Jos\xe9\n")), true, 400, "invalid_encoding"},
		{"UTF-16 file", binary([]byte{0xff, 0xfe, 'u', 0, 's', 0}), true, 400, "invalid_encoding"},
		{"all rows invalid", csvReq("user_id\nbad#1\nbad#2\n"), false, 400, "no_valid_rows"},
		{"JSON not an array", submitReq("users", "application/json", `{"user_id":"`+id+`"}`, nil), false, 400, "validation_failed"},
		{"malformed JSON", submitReq("users", "application/json", `[{"user_id":"`+id+`"`, nil), false, 400, "invalid_json"},
		{"wrong content type", submitReq("users", "text/plain", "user_id\n"+id+"\n", nil), false, 415, "unsupported_media_type"},
		{"xml", submitReq("users", "application/xml", "<users/>", nil), false, 415, "unsupported_media_type"},
		{"7 MB body", csvReq("user_id\n" + id + "\n" + strings.Repeat("x\n", 7<<19)), false, 413, "payload_too_large"},
		{"7 MB base64 body", binary([]byte("user_id\n" + strings.Repeat("y\n", 7<<19))), true, 413, "payload_too_large"},
		{"bad dry_run", submitReq("users", "text/csv", "user_id\n"+id+"\n", map[string]string{"dry_run": "yes"}), false, 400, "validation_failed"},
		{"groups: no owner column", submitReq("groups", "text/csv", "group_id,name\ng-"+id+",G\n", nil), false, 400, "invalid_csv"},
		{"unknown job", testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}", Path: "/v1/jobs/job_000000000000000000000000",
			PathParams: map[string]string{"job_id": "job_000000000000000000000000"}, Principal: testenv.Admin()}, false, 404, "not_found"},
		{"malformed job id", testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}", Path: "/v1/jobs/..%2f",
			PathParams: map[string]string{"job_id": "../x"}, Principal: testenv.Admin()}, false, 404, "not_found"},
		{"errors of unknown job", testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/job_000000000000000000000000/errors",
			PathParams: map[string]string{"job_id": "job_000000000000000000000000"}, Principal: testenv.Admin()}, false, 404, "not_found"},
		{"tampered errors cursor", testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + jobID + "/errors",
			PathParams: map[string]string{"job_id": jobID}, Query: map[string]string{"cursor": "eyJzIjoieCJ9"}, Principal: testenv.Admin()}, false, 400, "invalid_cursor"},
		{"errors limit too large", testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + jobID + "/errors",
			PathParams: map[string]string{"job_id": jobID}, Query: map[string]string{"limit": "1001"}, Principal: testenv.Admin()}, false, 400, "limit_out_of_range"},
		{"verify both kinds", testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify",
			Body: `{"user_ids":["a"],"group_ids":["b"]}`, Principal: testenv.Admin()}, false, 400, "validation_failed"},
		{"verify bad id", testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify",
			Body: `{"user_ids":["a","b#"]}`, Principal: testenv.Admin()}, false, 400, "invalid_id"},
		{"verify too many", testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify",
			Body: `{"user_ids":[` + strings.Repeat(`"a",`, 1000) + `"a"]}`, Principal: testenv.Admin()}, false, 400, "validation_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.req.Event(t)
			ev.IsBase64Encoded = tc.base64
			var resp events.APIGatewayProxyResponse
			testenv.Invoke(t, f.handler, ev, &resp)
			r := testenv.Reply{Status: resp.StatusCode, Body: resp.Body}
			if !strings.Contains(resp.Body, `"code":"`+tc.code+`"`) || r.Status != tc.status {
				t.Fatalf("got %d %.300s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	if _, err := f.db.Users.GetUser(context.Background(), id); err == nil {
		t.Fatal("a refused file created a user")
	}
}

// TestPermissions: only admin tokens reach batch jobs.
func TestPermissions(t *testing.T) {
	f := newFixture(t, roomy)
	uid := testenv.ID("perm")
	r := f.submit(t, "users", "text/csv", "user_id\n"+uid+"\n")
	jobID := r.JSON["job_id"].(string)
	user := testenv.User(uid)
	tests := []struct {
		name   string
		req    testenv.REST
		status int
		code   string
	}{
		{"user submits users", withP(submitReq("users", "text/csv", "user_id\n"+uid+"-2\n", nil), user), 403, "forbidden"},
		{"user submits groups", withP(submitReq("groups", "text/csv", "group_id,owner_id\ng-"+uid+","+uid+"\n", nil), user), 403, "forbidden"},
		{"user reads job", withP(testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}", Path: "/v1/jobs/" + jobID,
			PathParams: map[string]string{"job_id": jobID}}, user), 403, "forbidden"},
		{"user reads errors", withP(testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + jobID + "/errors",
			PathParams: map[string]string{"job_id": jobID}}, user), 403, "forbidden"},
		{"user verifies", withP(testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify", Body: `{"user_ids":["a"]}`}, user), 403, "forbidden"},
		{"no principal", submitReq("users", "text/csv", "user_id\n"+uid+"-3\n", nil), 401, "unauthorized"},
	}
	tests[len(tests)-1].req.Principal = nil
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Call(t, f.handler, tc.req)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	for _, id := range []string{uid + "-2", uid + "-3"} {
		if _, err := f.db.Users.GetUser(context.Background(), id); err == nil {
			t.Fatalf("refused submit created %s", id)
		}
	}
}

func withP(r testenv.REST, p *auth.Principal) testenv.REST {
	r.Principal = p
	return r
}

// TestGroupsJob: groups with owner, members and metadata, through the same
// pipeline; the rules of group creation apply per row.
func TestGroupsJob(t *testing.T) {
	// One row at a time: moto rolls a failed transaction back by restoring
	// a snapshot of the whole table, which would erase a group created
	// concurrently (DynamoDB and DynamoDB Local have no such problem).
	f := newFixture(t, roomy, batch.ProcessorOptions{Parallelism: 1})
	p := testenv.ID("cls")
	var ub strings.Builder
	ub.WriteString("user_id\n" + p + "-teacher\n")
	for i := range 60 {
		fmt.Fprintf(&ub, "%s-s%d\n", p, i)
	}
	if r := f.submit(t, "users", "text/csv", ub.String()); r.Status != http.StatusOK || num(r, "created") != 61 {
		t.Fatalf("users: %d %s", r.Status, r.Body) // 61 rows: done inline
	}
	ctx := context.Background()
	taken := p + "-g-taken"
	if _, _, err := chat.NewService(f.db.Chat, f.env.Cursors, chat.Config{}, chat.Options{}).CreateGroup(ctx, *testenv.Admin(),
		chat.CreateGroupInput{GroupID: taken, OwnerID: p + "-teacher", Name: "Old"}); err != nil {
		t.Fatal(err)
	}
	var gb strings.Builder
	gb.WriteString("group_id,owner_id,name,members,metadata.course\n")
	members := make([]string, 60) // 60 members: more than one transaction
	for i := range members {
		members[i] = fmt.Sprintf("%s-s%d", p, i)
	}
	fmt.Fprintf(&gb, "%s-g1,%s-teacher,\"Class 7B, math\",\"%s\",math\n", p, p, strings.Join(members, " "))
	fmt.Fprintf(&gb, "%s-g2,%s-teacher,Empty,,\n", p, p)
	fmt.Fprintf(&gb, "%s,%s-teacher,Again,,\n", taken, p)                      // group_exists
	fmt.Fprintf(&gb, "%s-g3,%s-teacher,Ghosts,%s-nobody;%s-s1,\n", p, p, p, p) // not_found
	fmt.Fprintf(&gb, "%s-g4,%s-nobody,No owner,,\n", p, p)                     // not_found
	fmt.Fprintf(&gb, "%s-g1,%s-teacher,Dup,,\n", p, p)                         // duplicate_id
	r := f.submit(t, "groups", "text/csv", gb.String())
	if r.Status != 200 { // 5 valid rows: processed inline
		t.Fatalf("groups: %d %s", r.Status, r.Body)
	}
	checkCounts(t, r, "partially_failed", 6, 2, 4)
	g, err := f.db.Groups.GetGroup(ctx, p+"-g1")
	if err != nil || g == nil || g.MemberCount != 61 || g.Name != "Class 7B, math" || g.Metadata["course"] != "math" || g.OwnerID != p+"-teacher" {
		t.Fatalf("group g1: %+v %v", g, err)
	}
	id := r.JSON["job_id"].(string)
	e := testenv.Call(t, f.handler, testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + id + "/errors",
		PathParams: map[string]string{"job_id": id}, Principal: testenv.Admin()})
	var got []string
	for _, x := range e.JSON["errors"].([]any) {
		m := x.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v", m["row"], m["code"]))
		if m["row"] == 4.0 && !strings.Contains(m["message"].(string), p+"-nobody") {
			t.Errorf("not_found row does not name the missing user: %v", m)
		}
	}
	if want := []string{"3:group_exists", "4:not_found", "5:not_found", "6:duplicate_id"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	v := testenv.Call(t, f.handler, testenv.REST{Method: "POST", Resource: "/v1/jobs/verify", Path: "/v1/jobs/verify",
		Body: fmt.Sprintf(`{"group_ids":["%s-g1","%s-g2","%s-g3"]}`, p, p, p), Principal: testenv.Admin()})
	if v.Status != 200 || len(v.JSON["existing"].([]any)) != 2 || len(v.JSON["missing"].([]any)) != 1 {
		t.Fatalf("verify groups: %d %s", v.Status, v.Body)
	}
}

func TestCSVHelpers(t *testing.T) {
	for accept, want := range map[string]bool{
		"text/csv": true, "application/json": false, "": false, "*/*": false,
		"text/csv;q=0.5, application/json": false, "application/json;q=0.4, text/csv": true, "text/csv;q=0": false,
	} {
		if got := acceptsCSV(accept); got != want {
			t.Errorf("acceptsCSV(%q) = %v", accept, got)
		}
	}
	for in, want := range map[string]string{"=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "-1": "'-1", "@x": "'@x", "stu-1": "stu-1", "": ""} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIdempotentSubmit: a retried submit with the same Idempotency-Key and
// file gets the first job back (nothing created twice); concurrent retries
// agree; the key with another file is refused.
func TestIdempotentSubmit(t *testing.T) {
	f := newFixture(t, roomy)
	key := testenv.ID("key")
	p := testenv.ID("idem")
	body := csvRows(p, 300)
	call := func(body string) testenv.Reply {
		req := submitReq("users", "text/csv", body, nil)
		req.Headers["Idempotency-Key"] = key
		return testenv.Call(t, f.handler, req)
	}
	replies := make([]testenv.Reply, 4)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Add(1)
		go func() { defer wg.Done(); replies[i] = call(body) }()
	}
	wg.Wait()
	fresh := 0
	for _, r := range replies {
		if r.Status != http.StatusAccepted || r.JSON["job_id"] != replies[0].JSON["job_id"] {
			t.Fatalf("retry: %d %s", r.Status, r.Body)
		}
		if r.Headers["Idempotent-Replayed"] == "" {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d replies claim to have created the job, want 1", fresh)
	}
	id := replies[0].JSON["job_id"].(string)
	done := f.wait(t, id)
	checkCounts(t, done, "succeeded", 300, 300, 0)
	if r := call(body); r.Status != http.StatusOK || r.JSON["job_id"] != id || r.Headers["Idempotent-Replayed"] != "true" || num(r, "created") != 300 {
		t.Fatalf("retry after the job finished: %d %v %s", r.Status, r.Headers, r.Body)
	}
	if r := call(csvRows(p+"x", 3)); r.Status != 409 || r.ErrorCode() != "idempotency_key_reused" {
		t.Fatalf("key reused with another file: %d %s", r.Status, r.Body)
	}
	req := submitReq("users", "text/csv", body, nil)
	for _, bad := range []string{"has space", ""} {
		req.Headers["Idempotency-Key"] = bad
		if r := testenv.Call(t, f.handler, req); r.Status != 400 || r.ErrorCode() != "validation_failed" {
			t.Fatalf("bad key %q: %d %s", bad, r.Status, r.Body)
		}
	}
}

func csvRows(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("user_id\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%d\n", prefix, i)
	}
	return b.String()
}
