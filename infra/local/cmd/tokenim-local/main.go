// Command tokenim-local runs the whole TokenIM stack on this machine: the
// template's functions (the same bootstraps as on AWS, built for the host
// by `make build-local`), the REST and WebSocket gateways, the SQS
// triggers, and a demo web client. `make dev` starts it (docs/local.md).
//
// It needs an AWS-compatible endpoint in AWS_ENDPOINT_URL (make dev starts
// one). Ctrl-C stops everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/infra/local"
	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/awsclient"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	os.Exit(run())
}

func run() int {
	root := template.RepoRoot()
	restAddr := flag.String("rest", env("TOKENIM_REST_ADDR", "127.0.0.1:3000"), "REST gateway address (TOKENIM_REST_ADDR)")
	wsAddr := flag.String("ws", env("TOKENIM_WS_ADDR", "127.0.0.1:3001"), "WebSocket gateway address (TOKENIM_WS_ADDR)")
	state := flag.String("state", env("TOKENIM_STATE", filepath.Join(root, ".tokenim")), "state directory: local.json, lock, bootstraps (TOKENIM_STATE)")
	binDir := flag.String("bin", "", "bootstraps directory (default <state>/bin, from make build-local)")
	tmplPath := flag.String("template", filepath.Join(root, "template.yaml"), "SAM template")
	prefix := flag.String("prefix", env("TOKENIM_PREFIX", "local-"), "name prefix of tables, queues and secrets (TOKENIM_PREFIX)")
	conc, _ := strconv.Atoi(env("TOKENIM_CONCURRENCY", "10"))
	concurrency := flag.Int("concurrency", conc, "sandboxes per function (TOKENIM_CONCURRENCY)")
	seed := flag.Bool("seed", true, "create an admin credential, demo users and a demo group")
	check := flag.Bool("check", false, "only check that no other instance runs and the ports are free")
	eventTap := flag.Bool("event-tap", os.Getenv("TOKENIM_EVENT_TAP") != "0", "list the events put on the template's buses at GET /_local/events (TOKENIM_EVENT_TAP=0 turns it off)")
	quiet := flag.Bool("quiet", os.Getenv("TOKENIM_QUIET") != "", "do not print function logs (TOKENIM_QUIET)")
	// Locally the template's Cognito user pool is stood in for by default,
	// so the sign-up flows run without AWS (docs/local.md).
	params := paramFlag{"CognitoUserPool": "create"}
	flag.Var(params, "param", "template parameter override Name=Value (repeatable; default CognitoUserPool=create)")
	flag.Parse()
	if *binDir == "" {
		*binDir = filepath.Join(*state, "bin")
	}

	// The gateway's own lines (requests, handshakes, gateway responses)
	// beside the functions' logs; warnings only with -quiet.
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "tokenim-local: "+format+"\n", args...)
		return 1
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" && !*check {
		return fail("AWS_ENDPOINT_URL is unset: start an emulator first (make dev does: eval \"$(infra/emulator/up)\")")
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}

	unlock, err := lock(*state, *restAddr, *wsAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenim-local:", err)
		return 2
	}
	defer unlock()
	for _, a := range []*string{restAddr, wsAddr} {
		if l, err := net.Listen("tcp", *a); err != nil {
			return fail("%s is in use (%v): is another TokenIM or program on it? Set TOKENIM_REST_ADDR / TOKENIM_WS_ADDR to use other ports", *a, err)
		} else {
			// Port 0 becomes the free port found here: PushRecorderUrl
			// below must name the port the gateway will listen on.
			*a = l.Addr().String()
			l.Close()
		}
	}
	if *check {
		return 0
	}

	tmpl, err := template.Load(*tmplPath)
	if err != nil {
		return fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		return fail("%v", err)
	}
	var out = os.Stderr
	demo := &local.Demo{}
	// Would-be pushes are recorded here (docs/push.md, "Locally").
	if _, ok := params["PushRecorderUrl"]; !ok {
		params["PushRecorderUrl"] = "http://" + *restAddr + local.PushPrefix
	}
	opts := local.Options{Template: tmpl, AWS: cfg, Endpoint: endpoint, Prefix: *prefix, RESTAddr: *restAddr, WSAddr: *wsAddr,
		BinDir: *binDir, Concurrency: *concurrency, Output: out, Log: log, Extra: map[string]http.Handler{"/demo": demo,
			"/docs":          local.APIDocs(filepath.Join(*state, "docs"), filepath.Join(root, "docs", "openapi.yaml")),
			local.PushPrefix: &local.PushRecorder{}}, Params: params, EventTap: *eventTap}
	if *quiet {
		opts.Output = devNull{}
	}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	s, err := local.Start(startCtx, opts)
	cancel()
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "tokenim-local: stopping")
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s.Close(c)
	}()

	info := local.Info{RESTURL: s.RESTURL, WebSocketURL: s.WebSocketURL}
	if *seed {
		db := local.StoreFor(s, dynamo.New(dynamodb.NewFromConfig(cfg), dynamo.Tables{}))
		seedCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		seeded, err := local.Seed(seedCtx, s, db, tmpl, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		cancel()
		if err != nil {
			// The stack itself works: keep serving with what was created.
			fmt.Fprintf(os.Stderr, "tokenim-local: WARNING: demo data incomplete: %v\n", err)
		}
		info = seeded
	}
	if s.UserPool != nil {
		info.UserPool = s.UserPool.Info()
	}
	demo.SetInfo(info)
	infoPath := filepath.Join(*state, "local.json")
	if err := local.WriteInfo(infoPath, info); err != nil {
		return fail("%v", err)
	}
	defer os.Remove(infoPath)
	banner(info, infoPath, s)
	<-ctx.Done()
	return 0
}

type devNull struct{}

func (devNull) Write(b []byte) (int, error) { return len(b), nil }

func banner(info local.Info, infoPath string, s *local.Stack) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nTokenIM is running locally (no AWS account involved).\n\n")
	fmt.Fprintf(&b, "  REST API       %s/v1/...\n", info.RESTURL)
	fmt.Fprintf(&b, "  WebSocket      %s/?token=<user token>\n", info.WebSocketURL)
	fmt.Fprintf(&b, "  Demo client    %s/demo/\n", info.RESTURL)
	fmt.Fprintf(&b, "  API reference  %s/docs/\n", info.RESTURL)
	if info.Admin.KeyID != "" {
		fmt.Fprintf(&b, "\n  Admin credential (client_id / client_secret):\n    %s\n    %s\n", info.Admin.KeyID, info.Admin.Secret)
		fmt.Fprintf(&b, "  Admin token:  curl -s -d grant_type=client_credentials -u %s:<secret> %s/v1/auth/token\n", info.Admin.KeyID, info.RESTURL)
	}
	for _, u := range info.DemoUsers {
		fmt.Fprintf(&b, "\n  Demo user %-6s %s/demo/?user=%s\n", u.UserID, info.RESTURL, u.UserID)
	}
	if info.DemoGroupID != "" {
		fmt.Fprintf(&b, "  Demo group     %s\n", info.DemoGroupID)
	}
	if p := info.UserPool; p != nil {
		fmt.Fprintf(&b, "\n  Cognito stand-in  pool %s, app client %s: sign up in the demo, or\n", p.PoolID, p.ClientID)
		fmt.Fprintf(&b, "    curl -s -d '{\"username\":\"zoe\",\"attributes\":{\"name\":\"Zoe\"}}' %s\n", p.SignUpURL)
	}
	fmt.Fprintf(&b, "\n  Everything above, with user tokens: %s\n", infoPath)
	fmt.Fprintf(&b, "  Serving %d routes and triggers from template.yaml. Ctrl-C stops it all.\n\n", len(s.Served()))
	fmt.Fprint(os.Stderr, b.String())
}

// lock takes <state>/local.lock so that a second instance says clearly
// that one is running. The lock is an flock: it goes when the process
// does, even on a crash.
func lock(state, restAddr, wsAddr string) (func(), error) {
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(state, "local.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("TokenIM is already running on this checkout (%s). Use it (see %s), or stop it with Ctrl-C in its terminal",
				strings.TrimSpace(string(b)), filepath.Join(state, "local.json"))
		}
		return nil, err
	}
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d, REST http://%s, WebSocket ws://%s\n", os.Getpid(), restAddr, wsAddr)
	return func() { f.Close() }, nil
}

// paramFlag collects -param Name=Value template parameter overrides.
type paramFlag map[string]string

func (p paramFlag) String() string { return fmt.Sprint(map[string]string(p)) }

func (p paramFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Name=Value")
	}
	p[k] = val
	return nil
}
