package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/store"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds every function of the template and the test function
// (testdata/fn) for this machine, once per test process, into
// .tokenim/test-bin-<pid>/<dir>/bootstrap (make build-local's layout), and
// tokenim-local itself into .tokenim/test-bin-<pid>/tokenim-local.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root := template.RepoRoot()
		// One directory per test process: several test runs may share a
		// checkout. Directories of processes that are gone are removed.
		state := filepath.Join(root, ".tokenim")
		old, _ := filepath.Glob(filepath.Join(state, "test-bin-*"))
		for _, d := range old {
			pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "test-bin-"))
			if err == nil && syscall.Kill(pid, 0) != nil {
				os.RemoveAll(d)
			}
		}
		binDir = filepath.Join(state, fmt.Sprintf("test-bin-%d", os.Getpid()))
		flat := filepath.Join(binDir, "flat")
		if buildErr = os.MkdirAll(flat, 0o755); buildErr != nil {
			return
		}
		tmpl, err := template.LoadDefault()
		if err != nil {
			buildErr = err
			return
		}
		args := []string{"build", "-tags", "lambda.norpc", "-o", flat + string(filepath.Separator)}
		dirs := []string{"fn"}
		for _, f := range tmpl.Functions() {
			args = append(args, "./functions/"+f.Dir)
			dirs = append(dirs, f.Dir)
		}
		cmd := exec.Command("go", append(args, "./infra/local/testdata/fn", "./infra/local/cmd/tokenim-local")...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		for _, d := range dirs {
			if buildErr = os.MkdirAll(filepath.Join(binDir, d), 0o755); buildErr != nil {
				return
			}
			if buildErr = os.Rename(filepath.Join(flat, d), filepath.Join(binDir, d, "bootstrap")); buildErr != nil {
				return
			}
		}
		buildErr = os.Rename(filepath.Join(flat, "tokenim-local"), filepath.Join(binDir, "tokenim-local"))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// lockedBuffer collects the functions' output for assertions.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("TOKENIM_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testStack struct {
	*Stack
	out  *lockedBuffer
	db   *store.DB
	tmpl *template.Template
}

// startStack runs tmpl (nil: template.yaml) on random ports and stops it
// when the test ends.
func startStack(t *testing.T, tmpl *template.Template, mutate func(*Options)) *testStack {
	t.Helper()
	env := testenv.Get(t)
	bins := binaries(t)
	if tmpl == nil {
		tmpl = env.Template
	}
	out := &lockedBuffer{}
	var logw io.Writer = io.Discard
	if os.Getenv("TOKENIM_TEST_LOG") != "" {
		logw = os.Stderr
	}
	o := Options{Template: tmpl, AWS: env.Cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Prefix: testenv.ID("l") + "-",
		RESTAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Concurrency: 4, SQSWait: time.Second,
		BinDir: bins,
		Output: out, Log: slog.New(slog.NewJSONHandler(logw, nil))}
	if mutate != nil {
		mutate(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	r := s.Resources
	db := env.DB(env.Cfg)
	db = store.New(db.Client(), store.Tables{Users: r.Tables["UsersTable"], Groups: r.Tables["GroupsTable"], Messages: r.Tables["MessagesTable"],
		Jobs: r.Tables["JobsTable"], Connections: r.Tables["ConnectionsTable"]})
	return &testStack{Stack: s, out: out, db: db, tmpl: tmpl}
}

func loadFixture(t *testing.T) *template.Template {
	t.Helper()
	tmpl, err := template.Load(filepath.Join("testdata", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r reply) errorCode() string {
	e, _ := r.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func do(t *testing.T, method, url string, headers map[string]string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	json.Unmarshal(b, &r.json)
	return r
}

// adminToken creates a credential in the stack's users table and trades
// it for an admin token through the REST API.
func (s *testStack) adminToken(t *testing.T) string {
	t.Helper()
	c, secret, err := auth.NewService(nil, s.db, s.db).CreateCredential(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", s.RESTURL+"/v1/auth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader("grant_type=client_credentials&client_id="+c.KeyID+"&client_secret="+secret))
	tok, _ := r.json["access_token"].(string)
	if r.status != 200 || tok == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return tok
}

// userToken creates a user through the REST API and returns a token for it.
func (s *testStack) userToken(t *testing.T, admin, userID string) string {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/json"}
	if r := do(t, "POST", s.RESTURL+"/v1/users", h, strings.NewReader(`{"user_id":"`+userID+`","nickname":"`+userID+`"}`)); r.status != 201 {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	r := do(t, "POST", s.RESTURL+"/v1/users/"+userID+"/tokens", h, nil)
	tok, _ := r.json["access_token"].(string)
	if r.status != 201 || tok == "" {
		t.Fatalf("user token: %d %s", r.status, r.body)
	}
	return tok
}

func dial(t *testing.T, url string, d *websocket.Dialer) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	c, resp, err := d.Dial(url, nil)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// readFrame reads one JSON frame with a deadline.
func readFrame(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return m
}

// eventually polls cond every 50 ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
