// Package testenv is the integration-test harness. It points the SDK at the
// AWS endpoint in AWS_ENDPOINT_URL (make test starts LocalStack or moto and
// sets it); when unset, it starts a private moto_server for the test binary,
// so `go test ./...` works on its own. Tables, queues and secrets are
// created from template.yaml under a per-package prefix.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/infra/provision"
	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/cursor"
)

var moto *exec.Cmd

// Main wraps testing.M: it starts moto_server if no endpoint is configured
// and stops it afterwards. Use it from TestMain in packages that touch AWS.
func Main(m *testing.M) {
	code := func() int {
		if os.Getenv("AWS_ENDPOINT_URL") == "" {
			if err := startMoto(); err != nil {
				fmt.Fprintln(os.Stderr, "testenv:", err)
				return 1
			}
			defer stopMoto()
		}
		return m.Run()
	}()
	os.Exit(code)
}

func startMoto() error {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return fmt.Errorf("AWS_ENDPOINT_URL is unset and moto_server is not installed (run make test, or pip install 'moto[server]'): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	moto = exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := moto.Start(); err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			os.Setenv("AWS_ENDPOINT_URL", url)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopMoto()
	return fmt.Errorf("moto_server did not answer on %s within 30s", url)
}

func stopMoto() {
	if moto != nil && moto.Process != nil {
		moto.Process.Kill()
		moto.Wait()
	}
}

// Env is one package's provisioned environment.
type Env struct {
	Cfg        aws.Config // uncounted
	Res        provision.Resources
	Tables     dynamo.Tables
	SigningKey []byte
	Tokens     *auth.Tokens
	Cursors    *cursor.Codec
	Template   *template.Template
}

var (
	once   sync.Once
	shared *Env
	setErr error
)

// Get returns the package's environment, provisioning it on first use.
func Get(t testing.TB) *Env {
	t.Helper()
	once.Do(func() { shared, setErr = setup() })
	if setErr != nil {
		t.Fatalf("testenv: %v", setErr)
	}
	return shared
}

func setup() (*Env, error) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		return nil, fmt.Errorf("AWS_ENDPOINT_URL is unset: call testenv.Main from TestMain, or run make test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.LoadDefault()
	if err != nil {
		return nil, err
	}
	res, err := provision.Provision(ctx, cfg, tmpl, "t"+randHex(4)+"-")
	if err != nil {
		return nil, err
	}
	key := []byte(randHex(32))
	tokens, cursors, err := config.Keys(key, config.DefaultIssuer)
	if err != nil {
		return nil, err
	}
	return &Env{Cfg: cfg, Res: res, SigningKey: key, Tokens: tokens, Cursors: cursors, Template: tmpl,
		Tables: dynamo.Tables{Users: res.Tables["UsersTable"], Groups: res.Tables["GroupsTable"], Messages: res.Tables["MessagesTable"],
			Jobs: res.Tables["JobsTable"], Connections: res.Tables["ConnectionsTable"]}}, nil
}

// Counted returns a copy of the AWS config whose every request is counted
// by the returned counter (use one per test to pin request counts).
func (e *Env) Counted() (aws.Config, *awsclient.Counter) {
	c := awsclient.NewCounter()
	cfg := e.Cfg.Copy()
	c.Attach(&cfg)
	return cfg, c
}

// DB returns a store over cfg (e.Cfg or a counted copy).
func (e *Env) DB(cfg aws.Config) dynamo.Stores {
	return dynamo.New(dynamodb.NewFromConfig(cfg), e.Tables)
}

// ID returns a unique id with a readable prefix, so tests sharing tables
// never collide.
func ID(prefix string) string { return prefix + "-" + randHex(5) }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// JWTKey returns the token-signing key derived from signingKey, so security
// tests can forge tokens that differ from real ones in exactly one way.
func JWTKey(signingKey []byte) []byte { return config.Derive(signingKey, "jwt") }
