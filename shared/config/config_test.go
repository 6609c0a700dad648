package config

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// secretsManager starts a Secrets Manager stand-in on 127.0.0.1 that
// answers GetSecretValue with secret, or never answers when secret is
// nil (a stalled endpoint: the request waits until the client gives up).
// It returns an SDK configuration pointed at it.
func secretsManager(t *testing.T, secret *string) aws.Config {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secret == nil {
			select { // stall, but let Close finish if the client never hangs up
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"Name":"k","SecretString":"` + *secret + `"}`))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
}

func TestSigningKey(t *testing.T) {
	defer func(d time.Duration) { signingKeyTimeout = d }(signingKeyTimeout)
	signingKeyTimeout = 300 * time.Millisecond
	good := strings.Repeat("k", 64)
	short := "too-short"
	cases := []struct {
		name     string
		secret   *string
		wantKey  string
		wantErr  string
		deadline bool // the error must be the timeout's
	}{
		{name: "answers", secret: &good, wantKey: good},
		{name: "short key", secret: &short, wantErr: "shorter than 32 bytes"},
		{name: "stalled endpoint", secret: nil, wantErr: "read signing key (timeout 300ms)", deadline: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := secretsManager(t, c.secret)
			start := time.Now()
			key, err := SigningKey(context.Background(), cfg, "arn:aws:secretsmanager:us-east-1:000000000000:secret:k")
			if took := time.Since(start); took > signingKeyTimeout+time.Second {
				t.Errorf("took %s, want at most the %s bound (+1 s)", took, signingKeyTimeout)
			}
			if c.wantErr == "" {
				if err != nil || string(key) != c.wantKey {
					t.Fatalf("SigningKey = %q, %v; want the key", key, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("SigningKey error = %v, want one containing %q", err, c.wantErr)
			}
			if c.deadline && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
			}
		})
	}
}
