package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/local/localtest"
	"github.com/tokenim/tokenim/shared/testenv"
)

// startLocal runs tokenim-local as a separate process (as make dev does:
// its own state directory and table prefix, free ports on 127.0.0.1, no
// event tap: on moto every tapped event costs the emulator 0.1 s) with
// `sandboxes` sandboxes per function, and stops it when the test ends.
func startLocal(t *testing.T, sandboxes int) local.Info {
	t.Helper()
	bins := localtest.Binaries(t)
	state := t.TempDir()
	logPath := filepath.Join(state, "gateway.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bins, "tokenim-local"), "-rest", "127.0.0.1:0", "-ws", "127.0.0.1:0", "-state", state,
		"-bin", bins, "-prefix", testenv.ID("bd")+"-", "-concurrency", strconv.Itoa(sandboxes), "-event-tap=false")
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			// The state directory goes with the test: keep what the
			// stack said last (timeouts, handler errors by request id).
			raw, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
			t.Logf("tokenim-local, last lines of its log:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			raw, _ := os.ReadFile(logPath)
			t.Fatalf("tokenim-local exited during start:\n%s", raw)
		case <-time.After(500 * time.Millisecond):
		}
		var info local.Info
		if raw, err := os.ReadFile(filepath.Join(state, "local.json")); err == nil && json.Unmarshal(raw, &info) == nil && info.Admin.KeyID != "" {
			return info
		}
	}
	t.Fatalf("tokenim-local did not start within 3 minutes; see %s", logPath)
	return local.Info{}
}

// parallelT runs f(0..n-1) on `workers` goroutines and fails the test on
// the first error.
func parallelT(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// restRetry calls the REST API, retrying what overload answers (429, 5xx,
// no answer) up to 10 times, 1 to 5 s apart; a 409 (already exists)
// counts as success. It returns the final status.
func restRetry(ctx context.Context, c *local.Client, method, path string, body, out any) (int, error) {
	var err error
	for attempt := range 10 {
		var status int
		status, err = c.Do(ctx, method, path, body, out)
		if err == nil || status == http.StatusConflict || status == http.StatusNotFound {
			return status, nil
		}
		if status != 0 && status != http.StatusTooManyRequests && status < 500 {
			return status, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 5)) * time.Second):
		}
	}
	return 0, err
}

// readHistory reads every stored message of a conversation (after=0: the
// messages themselves, whatever the head says); none when it answers
// not_found (no message was ever stored).
func readHistory(ctx context.Context, c *local.Client, conv string) ([]Stored, error) {
	var all []Stored
	cursor := ""
	for range 1000 {
		q := url.Values{"after": {"0"}, "limit": {"100"}}
		if cursor != "" {
			q = url.Values{"limit": {"100"}, "cursor": {cursor}}
		}
		var res struct {
			Messages []struct {
				Seq         int64  `json:"seq"`
				SenderID    string `json:"sender_id"`
				ClientMsgID string `json:"client_msg_id"`
			} `json:"messages"`
			NextCursor string `json:"next_cursor"`
		}
		status, err := restRetry(ctx, c, "GET", "/v1/conversations/"+url.PathEscape(conv)+"/messages?"+q.Encode(), nil, &res)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", conv, err)
		}
		if status == http.StatusNotFound {
			return all, nil
		}
		for _, m := range res.Messages {
			all = append(all, Stored{Conv: conv, Seq: m.Seq, SenderID: m.SenderID, ClientMsgID: m.ClientMsgID})
		}
		if res.NextCursor == "" {
			return all, nil
		}
		cursor = res.NextCursor
	}
	return all, fmt.Errorf("history of %s: too many pages", conv)
}
