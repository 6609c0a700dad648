package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tokenim/tokenim/infra/local"
)

// stackProc is a tokenim-local process started for the run.
type stackProc struct {
	cmd  *exec.Cmd
	log  string // its output: the gateway's and every function's log lines
	info local.Info
	done chan struct{}
}

// startStack runs tokenim-local (as make dev does) on free ports with its
// own state directory and table prefix, and waits for its local.json.
func startStack(ctx context.Context, binary, binDir, state, prefix string, sandboxes int, params []string) (*stackProc, error) {
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		return nil, fmt.Errorf("AWS_ENDPOINT_URL is unset: make test-load starts an emulator (infra/scripts/with-emulator.sh)")
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	// No event tap: nothing here reads /_local/events, and on moto every
	// tapped event costs the emulator about 0.1 s of its only core (60
	// sends/s would need 6 cores for the tap alone).
	args := []string{"-rest", "127.0.0.1:0", "-ws", "127.0.0.1:0", "-state", state, "-bin", binDir, "-prefix", prefix,
		"-concurrency", strconv.Itoa(sandboxes), "-event-tap=false"}
	for _, p := range params {
		args = append(args, "-param", p)
	}
	p := &stackProc{log: filepath.Join(state, "gateway.log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = os.Environ()
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
	infoPath := filepath.Join(state, "local.json")
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("tokenim-local exited during start; see %s:\n%s", p.log, tail(p.log, 15))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if raw, err := os.ReadFile(infoPath); err == nil && json.Unmarshal(raw, &p.info) == nil && p.info.Admin.KeyID != "" {
			return p, nil
		}
	}
	p.stop()
	return nil, fmt.Errorf("tokenim-local did not start within 3 minutes; see %s", p.log)
}

// stop interrupts tokenim-local (it closes every socket and kills its
// sandboxes) and waits for it, killing it after 30 s.
func (p *stackProc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// logFacts are what the stack's log says happened (counted by substring).
type logFacts struct {
	Counts map[string]int `json:"counts"`
	// Repaired are the messages the backstop pushed and revealed
	// ("conversation_id/seq").
	Repaired map[string]bool `json:"-"`
}

// logNeedles are the log lines worth counting: what timed out, failed or
// was repaired.
var logNeedles = map[string]string{
	"function_timed_out":      "function timed out",
	"function_crashed":        "function crashed",
	"route_failed_generic":    "route failed",
	"handshake_refused_500":   `handshake refused" status=500`,
	"action_out_of_time":      "action out of time",
	"reply_failed":            "reply failed",
	"head_not_advanced":       "message stored, head not advanced",
	"backstop_repaired":       "backstop delivered a message",
	"throttled_no_sandbox":    "no free sandbox",
	"disconnect_failed":       "$disconnect failed",
	"context_deadline_in_log": "context deadline exceeded",
}

var (
	reConv = regexp.MustCompile(`"conversation_id":"([^"]+)"`)
	reSeq  = regexp.MustCompile(`"seq":(\d+)`)
)

func readLogFacts(path string) logFacts {
	f := logFacts{Counts: map[string]int{}, Repaired: map[string]bool{}}
	fh, err := os.Open(path)
	if err != nil {
		return f
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for k, needle := range logNeedles {
			if strings.Contains(line, needle) {
				f.Counts[k]++
			}
		}
		if strings.Contains(line, logNeedles["backstop_repaired"]) {
			c, s := reConv.FindStringSubmatch(line), reSeq.FindStringSubmatch(line)
			if c != nil && s != nil {
				f.Repaired[c[1]+"/"+s[1]] = true
			}
		}
	}
	return f
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
