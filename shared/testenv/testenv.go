// Package testenv is the test harness, with two backends:
//
//   - memory (AWS_ENDPOINT_URL unset, plain `go test ./...`): the stores are
//     shared/memstore's fakes and the queues shared/memqueue's, so every use
//     case and handler test runs in seconds with no emulator. Tests that
//     need real AWS behaviour (request counts, the emulator's own queues,
//     the local stack) call NeedAWS and are skipped, saying so.
//   - dynamodb (AWS_ENDPOINT_URL set; make test starts LocalStack or moto):
//     tables, queues and secrets are created from template.yaml under a
//     per-package prefix, and the same tests run against them.
//
// Both backends are held to the same behaviour by the contract suites in
// shared/storetest.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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
	"github.com/tokenim/tokenim/shared/memqueue"
	"github.com/tokenim/tokenim/shared/memstore"
)

// Main wraps testing.M. It used to start a private moto_server; now a run
// without AWS_ENDPOINT_URL uses the memory backend instead. Kept so every
// package's TestMain reads the same.
func Main(m *testing.M) { os.Exit(m.Run()) }

// AWS reports whether tests run against an AWS endpoint (an emulator).
func AWS() bool { return os.Getenv("AWS_ENDPOINT_URL") != "" }

// NeedAWS skips t on the memory backend: for tests of what only real AWS
// (or its emulator) can show, such as request counts, SQS's and DynamoDB's
// own behaviour, or the local stack.
func NeedAWS(t testing.TB) {
	t.Helper()
	if !AWS() {
		t.Skip("needs an AWS emulator: AWS_ENDPOINT_URL is unset (make test runs this against LocalStack; see docs/testing.md)")
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
	// Memory is the in-memory world on the memory backend, nil on AWS.
	Memory *memstore.World
	queues map[string]*memqueue.Queue
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
	if !AWS() {
		return memory()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		return nil, err
	}
	if os.Getenv("TOKENIM_LOG_RETRIES") != "" { // say why the SDK retried (docs/testing.md)
		cfg.ClientLogMode |= aws.LogRetries
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
