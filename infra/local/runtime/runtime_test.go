package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/template"
)

var fnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runtime-test")
	if err != nil {
		panic(err)
	}
	fnBin = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", fnBin, "./infra/local/testdata/fn")
	cmd.Dir = template.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newPool(t *testing.T, mutate func(*Config)) (*Pool, *bytes.Buffer) {
	t.Helper()
	out := &syncBuffer{}
	cfg := Config{Name: "fn", Binary: fnBin, Env: []string{"FN_MARKER=hello"}, Timeout: 2 * time.Second, MemoryMB: 128,
		MaxConcurrency: 4, Region: "us-east-1", AccountID: "000000000000", Output: out}
	if mutate != nil {
		mutate(&cfg)
	}
	p := NewPool(cfg)
	t.Cleanup(p.Close)
	return p, &out.Buffer
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Buffer.Write(b)
}

func invoke(t *testing.T, p *Pool, ev map[string]any) (map[string]any, error) {
	t.Helper()
	b, _ := json.Marshal(ev)
	out, err := p.Invoke(context.Background(), b)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("reply %s: %v", out, err)
	}
	return m, nil
}

func TestInvokeContext(t *testing.T) {
	p, _ := newPool(t, nil)
	before := time.Now()
	m, err := invoke(t, p, map[string]any{"mode": "echo", "x": 1})
	if err != nil {
		t.Fatal(err)
	}
	if m["function_name"] != "fn" || m["memory"] != float64(128) || m["env_marker"] != "hello" {
		t.Errorf("context = %v", m)
	}
	if m["function_arn"] != "arn:aws:lambda:us-east-1:000000000000:function:fn" || len(m["request_id"].(string)) != 36 {
		t.Errorf("arn/request id = %v %v", m["function_arn"], m["request_id"])
	}
	dl := time.UnixMilli(int64(m["deadline_ms"].(float64)))
	if dl.Before(before.Add(1500*time.Millisecond)) || dl.After(time.Now().Add(2*time.Second)) {
		t.Errorf("deadline %v is not now + 2s", dl)
	}
	ev, _ := m["event"].(map[string]any)
	if ev["x"] != float64(1) {
		t.Errorf("event = %v", ev)
	}
	// A warm sandbox is reused.
	m2, _ := invoke(t, p, map[string]any{"mode": "echo"})
	if m2["pid"] != m["pid"] {
		t.Errorf("second invocation ran in a new process")
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		mode string
		want ErrorKind
		typ  string
	}{
		{"error", Handled, "errorString"},
		{"panic", Handled, "string"},
		{"exit", Crash, "Runtime.ExitError"},
		{"sleep", Timeout, "Sandbox.Timedout"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			p, _ := newPool(t, func(c *Config) { c.Timeout = 500 * time.Millisecond })
			first, err := invoke(t, p, map[string]any{"mode": "echo"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = invoke(t, p, map[string]any{"mode": tc.mode, "sleep_ms": 5000})
			var e *Error
			if !asError(err, &e) || e.Kind != tc.want || e.Type != tc.typ {
				t.Fatalf("err = %#v, want kind %s type %s", err, tc.want, tc.typ)
			}
			// The pool keeps serving; a dead or killed sandbox is replaced.
			after, err := invoke(t, p, map[string]any{"mode": "echo"})
			if err != nil {
				t.Fatalf("after %s: %v", tc.mode, err)
			}
			replaced := after["pid"] != first["pid"]
			if wantReplaced := tc.mode != "error"; replaced != wantReplaced {
				t.Errorf("sandbox replaced = %v, want %v", replaced, wantReplaced)
			}
		})
	}
}

func asError(err error, e **Error) bool {
	v, ok := err.(*Error)
	*e = v
	return ok
}

func TestInitFailure(t *testing.T) {
	p, out := newPool(t, func(c *Config) { c.Env = append(c.Env, "FN_INIT_FAIL=1") })
	_, err := invoke(t, p, map[string]any{})
	if KindOf(err) != Init {
		t.Fatalf("err = %v, want init error", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !bytes.Contains(out.Bytes(), []byte("[fn] init failing on purpose")) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !bytes.Contains(out.Bytes(), []byte("[fn] init failing on purpose")) {
		t.Errorf("process output not forwarded with prefix: %q", out.String())
	}
}

// TestSlowInitIsNotTheInvocationsTime: init that takes longer than the
// function's timeout (but less than Lambda's 10 s init budget) does not
// time the first invocation out: its deadline starts when the sandbox
// takes it, as on Lambda.
func TestSlowInitIsNotTheInvocationsTime(t *testing.T) {
	p, _ := newPool(t, func(c *Config) { c.Env = append(c.Env, "FN_INIT_SLEEP_MS=2500") }) // timeout 2 s
	start := time.Now()
	if _, err := invoke(t, p, map[string]any{}); err != nil {
		t.Fatalf("first invocation after a 2.5 s init: %v", err)
	}
	if d := time.Since(start); d < 2500*time.Millisecond {
		t.Fatalf("answered after %s: the slow init did not run", d)
	}
}

func TestConcurrencyCap(t *testing.T) {
	p, _ := newPool(t, func(c *Config) { c.MaxConcurrency = 3 })
	var wg sync.WaitGroup
	pids := sync.Map{}
	for i := 0; i < 9; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := invoke(t, p, map[string]any{"mode": "sleep", "sleep_ms": 100})
			if err != nil {
				t.Error(err)
				return
			}
			pids.Store(m["pid"], true)
		}()
	}
	wg.Wait()
	n := 0
	pids.Range(func(_, _ any) bool { n++; return true })
	live, _, started := p.Stats()
	if n > 3 || live > 3 || started > 3 {
		t.Errorf("processes used %d, live %d, started %d; cap is 3", n, live, started)
	}
	// A caller that cannot get a sandbox in time is throttled.
	var hold sync.WaitGroup
	for i := 0; i < 3; i++ {
		hold.Add(1)
		go func() { defer hold.Done(); invoke(t, p, map[string]any{"mode": "sleep", "sleep_ms": 400}) }()
	}
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Invoke(ctx, []byte(`{}`)); KindOf(err) != Throttled {
		t.Errorf("err = %v, want throttled", err)
	}
	hold.Wait()
}

func TestReapIdle(t *testing.T) {
	p, _ := newPool(t, nil)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); invoke(t, p, map[string]any{"mode": "sleep", "sleep_ms": 200}) }()
	}
	wg.Wait()
	if live, _, _ := p.Stats(); live != 3 {
		t.Fatalf("live = %d, want 3", live)
	}
	if n := p.ReapIdle(time.Hour); n != 0 {
		t.Errorf("reaped %d recently used sandboxes", n)
	}
	if n := p.ReapIdle(0); n != 2 {
		t.Errorf("reaped %d, want 2 (one stays warm)", n)
	}
	if live, _, _ := p.Stats(); live != 1 {
		t.Errorf("live = %d after reaping", live)
	}
	if _, err := invoke(t, p, map[string]any{"mode": "echo"}); err != nil {
		t.Fatal(err)
	}
}

// TestInvokeAtOnce: a context already done means "do not wait": a free
// sandbox is still used, and a function at its concurrency is throttled
// at once (Lambda's synchronous throttle, which the WebSocket gateway
// relies on).
func TestInvokeAtOnce(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		busy int // invocations holding sandboxes first
		want ErrorKind
	}{
		{"free sandbox runs", 0, ""},
		{"one of two busy runs", 1, ""},
		{"all busy is throttled", 2, Throttled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPool(t, func(c *Config) { c.MaxConcurrency = 2 })
			var hold sync.WaitGroup
			for i := 0; i < tc.busy; i++ {
				hold.Go(func() { invoke(t, p, map[string]any{"mode": "sleep", "sleep_ms": 1500}) })
			}
			defer hold.Wait()
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if _, busy, _ := p.Stats(); busy >= tc.busy {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Several tries: before the fix a free slot and a done context
			// raced, so a free sandbox was refused about half the time.
			for i := 0; i < 10; i++ {
				start := time.Now()
				_, err := p.Invoke(done, []byte(`{}`))
				if KindOf(err) != tc.want {
					t.Fatalf("try %d: err = %v, want kind %q", i, err, tc.want)
				}
				if d := time.Since(start); tc.want == Throttled && d > 200*time.Millisecond {
					t.Fatalf("throttled after %v, want at once", d)
				}
			}
		})
	}
}
