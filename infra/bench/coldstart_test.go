package bench

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/provision"
	"github.com/tokenim/tokenim/infra/template"
)

// fakeRuntime is Lambda's Runtime API as far as init goes, and a tripwire
// for every other call: AWS_ENDPOINT_URL and the HTTP proxies point here.
type fakeRuntime struct {
	srv  *http.Server
	addr string

	mu    sync.Mutex
	next  chan struct{} // closed when the bootstrap asks for its first event
	calls []string      // what init called besides the Runtime API
	fail  string
}

func newFakeRuntime(t *testing.T) *fakeRuntime {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntime{addr: ln.Addr().String()}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// reset prepares for the next process.
func (f *fakeRuntime) reset() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next, f.calls, f.fail = make(chan struct{}), nil, ""
	return f.next
}

func (f *fakeRuntime) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		f.mu.Lock()
		select {
		case <-f.next:
		default:
			close(f.next)
		}
		f.mu.Unlock()
		<-r.Context().Done() // no event: the process is stopped
		return
	case strings.HasPrefix(r.URL.Path, "/2018-06-01/runtime/init/error"):
		f.mu.Lock()
		f.fail = r.Header.Get("Lambda-Runtime-Function-Error-Type")
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	call := r.Host
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		call = target
	} else if r.Method == http.MethodConnect {
		call = "CONNECT " + r.Host
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if strings.HasSuffix(call, "GetSecretValue") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"ARN":"arn:aws:secretsmanager:us-east-1:000000000000:secret:bench","Name":"bench","SecretString":"%s","VersionId":"v1"}`, strings.Repeat("k", 64))
		return
	}
	http.Error(w, "the benchmark's tripwire: no network calls during init", http.StatusForbidden)
}

// initTime starts bin with env and returns the time until it asked for
// its first event, and what it called meanwhile.
func (f *fakeRuntime) initTime(t *testing.T, bin string, env []string) (time.Duration, []string, string) {
	t.Helper()
	next := f.reset()
	cmd := exec.Command(bin)
	cmd.Env = env
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var d time.Duration
	select {
	case <-next:
		d = time.Since(start)
		_ = cmd.Process.Kill()
		<-exited
	case err := <-exited:
		d = -1
		f.mu.Lock()
		f.fail += fmt.Sprintf(" exited: %v", err)
		f.mu.Unlock()
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		d = -1
		f.mu.Lock()
		f.fail += " no request for an event within 15 s"
		f.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return d, append([]string(nil), f.calls...), strings.TrimSpace(f.fail)
}

// lambdaFlags is GOFLAGS_LAMBDA from the Makefile, so the benchmark builds
// exactly what make build builds.
func lambdaFlags(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^GOFLAGS_LAMBDA :=\s*(.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("Makefile: no GOFLAGS_LAMBDA")
	}
	return strings.TrimSpace(string(m[1]))
}

func goBuild(t *testing.T, goarch string, flags []string, out, pkg string) int64 {
	t.Helper()
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// functionEnv is the function's environment from template.yaml, resolved
// with made-up resource names (init only reads them), plus what Lambda
// sets.
func functionEnv(t *testing.T, tmpl *template.Template, f template.Function, fake string) []string {
	t.Helper()
	res := provision.Resources{Tables: map[string]string{}, QueueURLs: map[string]string{}, QueueARNs: map[string]string{}, Secrets: map[string]string{}}
	for _, tb := range tmpl.Tables() {
		res.Tables[tb.LogicalID] = "bench-" + tb.LogicalID
	}
	for _, q := range tmpl.Queues() {
		res.QueueURLs[q.LogicalID] = "http://" + fake + "/000000000000/bench-" + q.LogicalID
		res.QueueARNs[q.LogicalID] = "arn:aws:sqs:us-east-1:000000000000:bench-" + q.LogicalID
	}
	for _, s := range tmpl.OfType("AWS::SecretsManager::Secret") {
		res.Secrets[s.Name] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-" + s.Name
	}
	rv := &local.Resolver{Tmpl: tmpl, Res: res, Region: "us-east-1", AccountID: "000000000000", StackName: "bench", APIs: map[string]string{}}
	env, err := rv.FunctionEnv(f)
	if err != nil {
		t.Fatalf("%s: %v", f.LogicalID, err)
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_LAMBDA_RUNTIME_API=" + fake, "AWS_ENDPOINT_URL=http://" + fake, "HTTP_PROXY=http://" + fake, "HTTPS_PROXY=http://" + fake,
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=bench",
		"AWS_LAMBDA_FUNCTION_NAME=bench-" + f.LogicalID, fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", f.MemorySize), "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"_HANDLER=bootstrap", "LAMBDA_TASK_ROOT=" + os.TempDir(), "AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023"}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func medianDuration(xs []time.Duration) float64 {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return float64(xs[len(xs)/2].Microseconds()) / 1000
}

// quickInit are the functions whose init bench-quick times: the busiest.
var quickInit = map[string]bool{"websocket": true}

// coldStart builds every function and the probes, and measures them.
//
// quick measures init time for quickInit's functions only (the others'
// amd64 builds would take most of bench-quick's 3 minutes).
func coldStart(t *testing.T, r *Report, runs int, quick bool) {
	if runtime.GOOS != "linux" {
		r.Notes = append(r.Notes, "Cold start not measured: it runs linux binaries.")
		return
	}
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	flagStr := lambdaFlags(t)
	flags := SplitFlags(flagStr)
	dir := t.TempDir()
	fake := newFakeRuntime(t)
	cs := &ColdStart{BuildFlags: flagStr, Runs: runs}
	measure := func(name, pkg string, env []string) FunctionStart {
		fs := FunctionStart{Name: name}
		fs.SizeBytes = goBuild(t, "arm64", flags, filepath.Join(dir, "arm64", name, "bootstrap"), pkg)
		bin := filepath.Join(dir, runtime.GOARCH, name, "bootstrap")
		if runtime.GOARCH != "arm64" {
			goBuild(t, runtime.GOARCH, flags, bin, pkg)
		}
		var ds []time.Duration
		seen := map[string]bool{}
		for range runs {
			d, calls, fail := fake.initTime(t, bin, env)
			if d < 0 {
				fs.Failed = fail
				break
			}
			ds = append(ds, d)
			for _, c := range calls {
				if !seen[c] {
					seen[c] = true
					fs.NetworkAtIn = append(fs.NetworkAtIn, c)
				}
			}
		}
		if len(ds) > 0 {
			fs.InitMs = medianDuration(ds)
		}
		return fs
	}
	helloEnv := []string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_RUNTIME_API=" + fake.addr, "HTTP_PROXY=http://" + fake.addr, "HTTPS_PROXY=http://" + fake.addr}
	cs.Hello = measure("hello-world (baseline)", "./infra/bench/probes/hello", helloEnv)
	cs.Hello.XHello = 1
	largest := ""
	var largestSize int64
	for _, f := range tmpl.Functions() {
		if quick && !quickInit[f.Dir] {
			fs := FunctionStart{Name: f.Dir, SizeBytes: goBuild(t, "arm64", flags, filepath.Join(dir, "arm64", f.Dir, "bootstrap"), "./functions/"+f.Dir)}
			if fs.SizeBytes > largestSize {
				largest, largestSize = f.Dir, fs.SizeBytes
			}
			cs.Functions = append(cs.Functions, fs)
			continue
		}
		fs := measure(f.Dir, "./functions/"+f.Dir, functionEnv(t, tmpl, f, fake.addr))
		if cs.Hello.InitMs > 0 {
			fs.XHello = fs.InitMs / cs.Hello.InitMs
		}
		if fs.SizeBytes > largestSize {
			largest, largestSize = f.Dir, fs.SizeBytes
		}
		cs.Functions = append(cs.Functions, fs)
	}
	sort.Slice(cs.Functions, func(i, j int) bool { return cs.Functions[i].Name < cs.Functions[j].Name })
	for _, pr := range []Probe{
		{Name: "hello", What: "lambda.Start only"},
		{Name: "sdkconfig", What: "hello + a DynamoDB client from aws-sdk-go-v2/config (how TokenIM loads its clients)"},
		{Name: "sdkenv", What: "hello + the same DynamoDB client, credentials and region read from the environment (no config package)"},
	} {
		switch {
		case pr.Name == "hello":
			pr.SizeBytes, pr.InitMs = cs.Hello.SizeBytes, cs.Hello.InitMs
		case quick:
			pr.SizeBytes = goBuild(t, "arm64", flags, filepath.Join(dir, "probe", pr.Name), "./infra/bench/probes/"+pr.Name)
		default:
			fs := measure(pr.Name, "./infra/bench/probes/"+pr.Name, append(helloEnv, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench"))
			pr.SizeBytes, pr.InitMs = fs.SizeBytes, fs.InitMs
		}
		cs.Probes = append(cs.Probes, pr)
	}
	// A build flag that trades speed for size: no inlining.
	cs.Probes = append(cs.Probes, Probe{Name: largest + " -gcflags=all=-l", What: largest + " built without inlining (smaller, slower code)",
		SizeBytes: goBuild(t, "arm64", append(append([]string(nil), flags...), "-gcflags=all=-l"), filepath.Join(dir, "probe", "noinline"), "./functions/"+largest)})
	// What the largest is spent on: the same build without -s -w.
	var unstripped []string
	for _, f := range flags {
		if !strings.HasPrefix(f, "-ldflags") {
			unstripped = append(unstripped, f)
		}
	}
	full := filepath.Join(dir, "unstripped", largest)
	goBuild(t, "arm64", unstripped, full, "./functions/"+largest)
	cs.Spent, cs.SymbolsBytes, err = SymbolSizes(full)
	if err != nil {
		t.Fatal(err)
	}
	cs.SpentOf = largest
	r.ColdStart = cs
	coldGoals(r, cs)
}

func coldGoals(r *Report, cs *ColdStart) {
	var over, slow, calls []string
	for _, f := range cs.Functions {
		if f.SizeBytes >= 10*mb {
			over = append(over, fmt.Sprintf("%s %.2f MB", f.Name, float64(f.SizeBytes)/mb))
		}
		if f.InitMs > 0 && f.XHello > 1.5 || f.Failed != "" {
			slow = append(slow, fmt.Sprintf("%s %.2f×", f.Name, f.XHello))
		}
		if len(f.NetworkAtIn) > 0 {
			calls = append(calls, f.Name+" ("+strings.Join(f.NetworkAtIn, ", ")+")")
		}
	}
	probe := map[string]int64{}
	for _, p := range cs.Probes {
		probe[p.Name] = p.SizeBytes
	}
	saving := float64(probe["sdkconfig"]-probe["sdkenv"]) / mb
	var largest FunctionStart
	for _, f := range cs.Functions {
		if f.SizeBytes > largest.SizeBytes {
			largest = f
		}
	}
	r.Goals = append(r.Goals,
		GoalCheck{Goal: "every function's arm64 bootstrap under 10 MB", Met: len(over) == 0,
			Figure: fmt.Sprintf("%d of %d over: %s", len(over), len(cs.Functions), strings.Join(over, ", ")),
			Why:    fmt.Sprintf("aws-sdk-go-v2/config's default credential chain links the SSO, SSO OIDC, STS and sign-in clients and IMDS, which Lambda never uses (it puts credentials in the environment): the probes price it at %.2f MB (sdkconfig − sdkenv); loading credentials and region from the environment in shared/awsclient would bring every function under 10 MB if it is over by less than that", saving)},
		GoalCheck{Goal: "init within 1.5× of hello-world", Met: len(slow) == 0,
			Figure: fmt.Sprintf("hello %.1f ms; over: %s", cs.Hello.InitMs, strings.Join(slow, ", "))},
		GoalCheck{Goal: "init makes no network call", Met: len(calls) == 0,
			Figure: strings.Join(calls, "; "),
			Why:    "the functions that issue tokens or cursors read the signing key from Secrets Manager during init (shared/app.Load): one call, bounded by its timeout; only the sign-up functions skip it (app.LoadStore)"},
	)
}
