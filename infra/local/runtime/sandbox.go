package runtime

// A sandbox: one bootstrap process and the Lambda Runtime API it polls
// (next, response, error, init error), as Lambda runs one.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type invocation struct {
	id      string
	payload []byte
	timeout time.Duration
	// deadline is set by the sandbox when it takes the invocation (after
	// init, as on Lambda, where init has its own budget); started is
	// closed then.
	deadline time.Time
	started  chan struct{}
	done     chan result
}

type result struct {
	payload []byte
	err     *Error
}

// sandbox is one process with its own Runtime API endpoint.
type sandbox struct {
	pool    *Pool
	cmd     *exec.Cmd
	srv     *http.Server
	invokes chan *invocation
	exited  chan struct{}

	mu        sync.Mutex
	current   *invocation
	ready     bool
	initMsg   string
	idleSince time.Time // guarded by the pool's mutex
}

func (p *Pool) start() (*sandbox, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime: listen: %w", err)
	}
	sb := &sandbox{pool: p, invokes: make(chan *invocation), exited: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", sb.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", sb.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", sb.error)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", sb.initError)
	sb.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go sb.srv.Serve(l)

	cfg := p.cfg
	cmd := exec.Command(cfg.Binary)
	cmd.Env = append(append([]string{}, cfg.Env...),
		"AWS_LAMBDA_RUNTIME_API="+l.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME="+cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+newUUID()[:32],
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"_HANDLER=bootstrap", "TZ=:UTC",
	)
	out := &prefixWriter{w: cfg.Output, prefix: []byte("[" + cfg.Name + "] ")}
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group, so a kill reaches anything the bootstrap started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		sb.srv.Close()
		return nil, fmt.Errorf("runtime: start %s: %w", cfg.Binary, err)
	}
	sb.cmd = cmd
	go func() {
		cmd.Wait()
		sb.srv.Close()
		close(sb.exited)
	}()
	return sb, nil
}

func (sb *sandbox) hasExited() bool {
	select {
	case <-sb.exited:
		return true
	default:
		return false
	}
}

func (sb *sandbox) kill() {
	if sb.cmd != nil && sb.cmd.Process != nil {
		syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (sb *sandbox) wasReady() bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.ready
}

func (sb *sandbox) initErr() string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.initMsg
}

// next blocks until the pool hands this sandbox an invocation.
func (sb *sandbox) next(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	sb.ready = true
	sb.mu.Unlock()
	select {
	case inv := <-sb.invokes:
		inv.deadline = time.Now().Add(inv.timeout)
		close(inv.started)
		sb.mu.Lock()
		sb.current = inv
		sb.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", sb.pool.arn)
		h.Set("Lambda-Runtime-Trace-Id", traceID())
		w.WriteHeader(http.StatusOK)
		w.Write(inv.payload)
	case <-r.Context().Done():
	case <-sb.exited:
	}
}

// take returns the in-flight invocation if id names it.
func (sb *sandbox) take(id string) *invocation {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.current == nil || sb.current.id != id {
		return nil
	}
	inv := sb.current
	sb.current = nil
	return inv
}

func (sb *sandbox) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
	inv := sb.take(r.PathValue("id"))
	if inv == nil {
		badRequest(w, "InvalidRequestID", "no invocation in flight with this id")
		return
	}
	switch {
	case err != nil:
		inv.done <- result{err: &Error{Kind: Handled, Type: "Runtime.ResponseReadError", Message: "reading the response failed"}}
	case len(body) > maxResponse:
		inv.done <- result{err: &Error{Kind: Handled, Type: "Function.ResponseSizeTooLarge", Message: "Response payload size exceeded maximum allowed payload size (6291556 bytes)."}}
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		inv.done <- result{err: &Error{Kind: Handled, Type: r.Trailer.Get("Lambda-Runtime-Function-Error-Type"), Message: "the runtime failed while streaming the response"}}
	default:
		inv.done <- result{payload: body}
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (sb *sandbox) error(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	inv := sb.take(r.PathValue("id"))
	if inv == nil {
		badRequest(w, "InvalidRequestID", "no invocation in flight with this id")
		return
	}
	e := &Error{Kind: Handled}
	if json.Unmarshal(body, e) != nil || e.Type == "" {
		e.Type = firstNonEmpty(r.Header.Get("Lambda-Runtime-Function-Error-Type"), "Unhandled")
	}
	inv.done <- result{err: e}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (sb *sandbox) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var e Error
	json.Unmarshal(body, &e)
	sb.mu.Lock()
	sb.initMsg = firstNonEmpty(e.Type+": "+e.Message, "init error")
	sb.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func badRequest(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(strings.Trim(a, ":")) != "" {
		return a
	}
	return b
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewRequestID returns a random UUID, the form API Gateway and Lambda use.
func NewRequestID() string { return newUUID() }

func traceID() string {
	b := make([]byte, 20)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}

// prefixWriter prefixes each line written to w (process logs).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := append(append([]byte{}, p.prefix...), p.buf[:i+1]...)
		p.w.Write(line)
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 64<<10 { // an endless line: flush it anyway
		p.w.Write(append(append([]byte{}, p.prefix...), append(p.buf, '\n')...))
		p.buf = nil
	}
	return len(b), nil
}
