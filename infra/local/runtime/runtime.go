// Package runtime runs Lambda function binaries on this machine behind an
// emulated Lambda Runtime API (the 2018-06-01 interface every custom
// runtime, aws-lambda-go's included, polls). The binaries are the same
// bootstraps that run on AWS, built for the host: JSON (de)serialization,
// lambdacontext, deadlines and panic reporting are aws-lambda-go's own.
//
// A Pool holds the processes ("sandboxes") of one function. As on Lambda,
// a sandbox serves one invocation at a time; the pool starts sandboxes on
// demand up to a concurrency cap, kills a sandbox whose invocation
// outlives the function's timeout, and replaces sandboxes that exit
// (a panicking Go handler reports its error and then exits).
package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Config describes one function.
type Config struct {
	Name     string        // function name (AWS_LAMBDA_FUNCTION_NAME)
	Binary   string        // path of the bootstrap to run
	Env      []string      // KEY=VALUE pairs: the function's environment
	Timeout  time.Duration // the function's Timeout
	MemoryMB int
	// MaxConcurrency caps the number of sandboxes (concurrent invocations).
	MaxConcurrency int
	Region         string
	AccountID      string
	// Output receives the processes' stdout and stderr, each line prefixed
	// with the function name (nil: discarded).
	Output io.Writer
	Log    *slog.Logger
}

// initTimeout bounds a sandbox's INIT phase, as Lambda does (10 s).
const initTimeout = 10 * time.Second

// maxResponse is Lambda's synchronous response payload limit.
const maxResponse = 6 << 20

// ErrorKind tells why an invocation failed.
type ErrorKind string

const (
	// Handled: the handler returned an error (or panicked and reported it).
	Handled ErrorKind = "Handled"
	// Timeout: the invocation outlived the function's Timeout; the sandbox was killed.
	Timeout ErrorKind = "Timeout"
	// Crash: the process exited during the invocation without answering.
	Crash ErrorKind = "Crash"
	// Init: the sandbox failed to start (exit or /init/error before /next).
	Init ErrorKind = "Init"
	// Throttled: no sandbox became free before the caller gave up.
	Throttled ErrorKind = "Throttled"
)

// Error is a failed invocation, shaped like Lambda's function error.
type Error struct {
	Kind      ErrorKind
	RequestID string
	Type      string          `json:"errorType"`
	Message   string          `json:"errorMessage"`
	Stack     json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("lambda %s error (request %s): %s: %s", e.Kind, e.RequestID, e.Type, e.Message)
}

// KindOf returns the kind of an invocation error ("" if err is not one).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// Pool runs one function's sandboxes.
type Pool struct {
	cfg  Config
	arn  string
	slot chan struct{} // one token per allowed concurrent invocation

	mu      sync.Mutex
	idle    []*sandbox
	all     map[*sandbox]bool
	closed  bool
	started int // sandboxes ever started (cold starts)
}

// NewPool returns a pool; no process starts before the first invocation.
func NewPool(cfg Config) *Pool {
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return &Pool{cfg: cfg, slot: make(chan struct{}, cfg.MaxConcurrency), all: map[*sandbox]bool{},
		arn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, cfg.AccountID, cfg.Name)}
}

// Name is the function name.
func (p *Pool) Name() string { return p.cfg.Name }

// Timeout is the function's timeout.
func (p *Pool) Timeout() time.Duration { return p.cfg.Timeout }

// Stats reports the live sandboxes, how many are busy, and how many were
// ever started.
func (p *Pool) Stats() (live, busy, started int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all), len(p.all) - len(p.idle), p.started
}

// PIDs lists the live sandboxes' process ids (benchmarks read their RSS).
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for sb := range p.all {
		out = append(out, sb.cmd.Process.Pid)
	}
	return out
}

// Invoke runs one invocation and returns the function's response payload,
// or an *Error. ctx bounds only the wait for a free sandbox: once running,
// an invocation ends by itself or by the function's timeout, as on Lambda.
// A free sandbox is always taken, so a ctx already done means "throttle at
// once if the function is at its concurrency", as Lambda does.
func (p *Pool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	reqID := newUUID()
	select {
	case p.slot <- struct{}{}:
	default:
		select {
		case p.slot <- struct{}{}:
		case <-ctx.Done():
			return nil, &Error{Kind: Throttled, RequestID: reqID, Type: "TooManyRequestsException", Message: "no free sandbox: " + ctx.Err().Error()}
		}
	}
	defer func() { <-p.slot }()
	// A sandbox that exited while idle (after a panic) is replaced; retry
	// a bounded number of times so a crash-looping binary fails fast.
	for attempt := 0; ; attempt++ {
		sb, err := p.get()
		if err != nil {
			return nil, &Error{Kind: Init, RequestID: reqID, Type: "Runtime.InitError", Message: err.Error()}
		}
		out, err, retry := p.run(sb, reqID, payload)
		if !retry || attempt >= 2 {
			return out, err
		}
	}
}

// get returns an idle live sandbox or starts one.
func (p *Pool) get() (*sandbox, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("pool closed")
	}
	for len(p.idle) > 0 {
		sb := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !sb.hasExited() {
			p.mu.Unlock()
			return sb, nil
		}
		delete(p.all, sb)
	}
	p.started++
	p.mu.Unlock()
	sb, err := p.start()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		sb.kill()
		return nil, errors.New("pool closed")
	}
	p.all[sb] = true
	return sb, nil
}

func (p *Pool) put(sb *sandbox) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || sb.hasExited() {
		delete(p.all, sb)
		return
	}
	sb.idleSince = time.Now()
	p.idle = append(p.idle, sb)
}

// ReapIdle stops sandboxes idle for longer than maxIdle, keeping the
// most recently used one warm, as Lambda retires idle execution
// environments (a burst does not leave its processes behind).
func (p *Pool) ReapIdle(maxIdle time.Duration) int {
	p.mu.Lock()
	var keep, reap []*sandbox
	for i, sb := range p.idle {
		// p.idle is in put order: the last one is the warmest.
		if i < len(p.idle)-1 && time.Since(sb.idleSince) > maxIdle {
			reap = append(reap, sb)
			delete(p.all, sb)
		} else {
			keep = append(keep, sb)
		}
	}
	p.idle = keep
	p.mu.Unlock()
	for _, sb := range reap {
		sb.kill()
	}
	return len(reap)
}

func (p *Pool) drop(sb *sandbox) {
	sb.kill()
	p.mu.Lock()
	delete(p.all, sb)
	p.mu.Unlock()
}

// run hands one invocation to sb. retry is true when sb turned out to be
// dead before it took the invocation (nothing ran).
func (p *Pool) run(sb *sandbox, reqID string, payload []byte) (out []byte, err error, retry bool) {
	inv := &invocation{id: reqID, payload: payload, timeout: p.cfg.Timeout, started: make(chan struct{}), done: make(chan result, 1)}
	initWait := time.NewTimer(initTimeout)
	defer initWait.Stop()
	select {
	case sb.invokes <- inv:
	case <-sb.exited:
		p.drop(sb)
		if msg := sb.initErr(); msg != "" || !sb.wasReady() {
			return nil, &Error{Kind: Init, RequestID: reqID, Type: "Runtime.InitError", Message: firstNonEmpty(msg, "the process exited during init")}, false
		}
		return nil, nil, true
	case <-initWait.C:
		p.drop(sb)
		return nil, &Error{Kind: Init, RequestID: reqID, Type: "Runtime.InitTimeout", Message: "init did not finish within 10s"}, false
	}
	<-inv.started // the sandbox set the deadline when it took the invocation
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case r := <-inv.done:
		p.put(sb)
		if r.err != nil {
			r.err.RequestID = reqID
			p.cfg.Log.Warn("function error", "function", p.cfg.Name, "request_id", reqID, "error_type", r.err.Type)
			return nil, r.err, false
		}
		return r.payload, nil, false
	case <-sb.exited:
		p.drop(sb)
		p.cfg.Log.Error("function crashed", "function", p.cfg.Name, "request_id", reqID)
		return nil, &Error{Kind: Crash, RequestID: reqID, Type: "Runtime.ExitError", Message: "the process exited before answering"}, false
	case <-timer.C:
		p.drop(sb)
		p.cfg.Log.Error("function timed out", "function", p.cfg.Name, "request_id", reqID, "timeout", p.cfg.Timeout.String())
		return nil, &Error{Kind: Timeout, RequestID: reqID, Type: "Sandbox.Timedout", Message: fmt.Sprintf("Task timed out after %.2f seconds", p.cfg.Timeout.Seconds())}, false
	}
}

// Close kills every sandbox; later invocations fail.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	all := make([]*sandbox, 0, len(p.all))
	for sb := range p.all {
		all = append(all, sb)
	}
	p.all, p.idle = map[*sandbox]bool{}, nil
	p.mu.Unlock()
	for _, sb := range all {
		sb.kill()
	}
	for _, sb := range all {
		<-sb.exited
	}
}
