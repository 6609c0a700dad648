package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tokenim/tokenim/shared/logging"
)

// initBudget is what Lambda gives a function's init phase.
const initBudget = 10 * time.Second

// TestLoadKeysReportsDependency: with Secrets Manager stalled (an endpoint
// on 127.0.0.1 that accepts the request and never answers) or not
// configured, loadKeys gives up well inside the init budget and leaves one
// structured log line naming Secrets Manager. Uses the real bound.
func TestLoadKeysReportsDependency(t *testing.T) {
	stalled := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stalled:
		}
	}))
	defer srv.Close()
	defer close(stalled) // before Close: no handler outlives the test

	cases := []struct {
		name string
		arn  string
	}{
		{"stalled endpoint", "arn:aws:secretsmanager:us-east-1:000000000000:secret:k"},
		{"secret not configured", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := &App{Log: logging.NewTo(&logs, "token"), AWS: aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
				BaseEndpoint: aws.String(srv.URL),
			}}
			start := time.Now()
			err := a.loadKeys(context.Background(), &Keys{SigningKeySecretARN: c.arn})
			took := time.Since(start)
			if err == nil {
				t.Fatal("loadKeys succeeded without a signing key")
			}
			if took > initBudget/2 {
				t.Errorf("gave up after %s: too little of the %s init budget left to report it", took, initBudget)
			}
			checkInitFailureLine(t, logs.String(), "load signing key", "secretsmanager")
		})
	}
}

func checkInitFailureLine(t *testing.T, out, step, dependency string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), out)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, lines[0])
	}
	for k, want := range map[string]string{"level": "ERROR", "msg": "init failed", "function": "token", "step": step, "dependency": dependency} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %q (line %s)", k, line[k], want, lines[0])
		}
	}
	if e, _ := line["err"].(string); e == "" {
		t.Errorf("log line has no err: %s", lines[0])
	}
}
