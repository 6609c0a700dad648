package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/provision"
	"github.com/tokenim/tokenim/infra/template"
)

// Options configure a local stack.
type Options struct {
	Template *template.Template
	AWS      aws.Config // the emulator (AWS_ENDPOINT_URL)
	Endpoint string     // AWS_ENDPOINT_URL handed to the functions
	Prefix   string     // resource name prefix, e.g. "local-"
	RESTAddr string     // e.g. 127.0.0.1:3000 (":0" picks a port)
	WSAddr   string     // e.g. 127.0.0.1:3001
	// Binary returns a function's bootstrap path; default
	// BinDir/<dir>/bootstrap (make build-local).
	Binary      func(f template.Function) string
	BinDir      string
	Concurrency int // sandboxes per function
	StackName   string
	Region      string
	AccountID   string
	Params      map[string]string // template parameter overrides
	Limits      WSLimits
	SQSWait     time.Duration // long-poll wait (default 20 s)
	Output      io.Writer     // the functions' stdout/stderr
	Log         *slog.Logger
	// Extra are local-only handlers on the REST port by path prefix
	// (the demo client at /demo).
	Extra map[string]http.Handler
	// TestEnv adds variables to functions' environments by logical id,
	// for tests only (TOKENIM_FAULTS: docs/testing.md, "Faults"). The
	// template's variables win.
	TestEnv map[string]map[string]string

	// EventTap lists what the template's buses receive at GET
	// /_local/events (eventbus.go). make dev sets it; tests that do not
	// read events leave it off, as it is the emulator's slowest path.
	EventTap bool

	// StreamInterval is the DynamoDB stream pollers' wait between polls of
	// an idle shard (default DefaultStreamInterval).
	StreamInterval time.Duration
}

// Stack is a running local stack.
type Stack struct {
	RESTURL      string // http://127.0.0.1:3000
	WebSocketURL string // ws://127.0.0.1:3001
	Resources    provision.Resources
	Env          map[string]map[string]string // function -> resolved environment
	REST         *RESTGateway
	WS           *WSGateway
	Pools        map[string]*runtime.Pool
	SQS          []*SQSPoller
	Streams      []*StreamPoller
	UserPool     *UserPool // the template's Cognito user pool, stood in for (nil: none)

	servers []*http.Server
	cancel  context.CancelFunc
	pollers sync.WaitGroup // SQS and stream pollers and the sandbox reaper
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = "local-"
	}
	if o.RESTAddr == "" {
		o.RESTAddr = "127.0.0.1:3000"
	}
	if o.WSAddr == "" {
		o.WSAddr = "127.0.0.1:3001"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 10
	}
	if o.StackName == "" {
		o.StackName = "tokenim-local"
	}
	if o.Region == "" {
		o.Region = o.AWS.Region
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.Limits == (WSLimits{}) {
		o.Limits = DefaultWSLimits
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.Binary == nil {
		dir := o.BinDir
		o.Binary = func(f template.Function) string { return filepath.Join(dir, f.Dir, "bootstrap") }
	}
}

// Start provisions the template's resources and starts everything.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	o.defaults()
	t := o.Template
	res, err := provision.Provision(ctx, o.AWS, t, o.Prefix)
	if err != nil {
		return nil, err
	}
	s = &Stack{Resources: res, Env: map[string]map[string]string{}, Pools: map[string]*runtime.Pool{}}
	// started, not s: `return nil, err` has set s to nil by the time this runs.
	started := s
	defer func() {
		if err != nil {
			started.Close(context.Background())
		}
	}()
	restL, err := net.Listen("tcp", o.RESTAddr)
	if err != nil {
		return nil, fmt.Errorf("local: REST gateway on %s: %w", o.RESTAddr, err)
	}
	wsL, err := net.Listen("tcp", o.WSAddr)
	if err != nil {
		restL.Close()
		return nil, fmt.Errorf("local: WebSocket gateway on %s: %w", o.WSAddr, err)
	}
	s.RESTURL = "http://" + restL.Addr().String()
	wsHTTP := "http://" + wsL.Addr().String()
	s.WebSocketURL = "ws://" + wsL.Addr().String()

	rv := &Resolver{Tmpl: t, Res: res, Region: o.Region, AccountID: o.AccountID, StackName: o.StackName, Params: o.Params, APIs: map[string]string{}}
	for _, a := range t.RestAPIs() {
		rv.APIs[a.LogicalID] = s.RESTURL
	}
	wsAPIs := t.WebSocketAPIs()
	for _, a := range wsAPIs {
		rv.APIs[a.LogicalID] = wsHTTP
	}

	// The template's Cognito user pool, if any, is stood in for locally:
	// its !Ref and issuer URL resolve to the local pool.
	s.UserPool, err = newUserPool(t, rv, s.RESTURL, o.Region)
	if err != nil {
		return nil, err
	}
	if s.UserPool != nil {
		rv.Refs = s.UserPool.refs(t)
		rv.Rewrites = map[string]string{s.UserPool.issuerOnAWS(o.Region): s.UserPool.Issuer}
	}
	// The template's EventBridge buses, created locally, with a tap if
	// asked (eventbus.go): !Ref gives the local bus name.
	tap, busRefs, err := newEventTap(ctx, o.AWS, t, o.Prefix, o.EventTap, o.Log.With("tap", "events"))
	if err != nil {
		return nil, err
	}
	if len(busRefs) > 0 && rv.Refs == nil {
		rv.Refs = map[string]string{}
	}
	maps.Copy(rv.Refs, busRefs)
	if o.EventTap { // the template's rules too (eventrules.go): same opt-in, same cost on moto
		if err := putTemplateRules(ctx, o.AWS, t, o.Prefix, busRefs, res.QueueARNs); err != nil {
			return nil, err
		}
	}

	invokers := map[string]Invoker{}
	for _, f := range t.Functions() {
		env, err := rv.FunctionEnv(f)
		if err != nil {
			return nil, err
		}
		s.Env[f.LogicalID] = env
		bin := o.Binary(f)
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("local: %s: no bootstrap at %s (run make build-local): %w", f.LogicalID, bin, err)
		}
		vars := []string{"AWS_ENDPOINT_URL=" + o.Endpoint, "AWS_REGION=" + o.Region, "AWS_DEFAULT_REGION=" + o.Region,
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true", "PATH=/usr/local/bin:/usr/bin:/bin"}
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vars = append(vars, k+"="+env[k])
		}
		for k, v := range o.TestEnv[f.LogicalID] {
			if _, set := env[k]; !set {
				vars = append(vars, k+"="+v)
			}
		}
		p := runtime.NewPool(runtime.Config{Name: o.StackName + "-" + f.LogicalID, Binary: bin, Env: vars,
			Timeout: time.Duration(f.Timeout) * time.Second, MemoryMB: f.MemorySize, MaxConcurrency: o.Concurrency,
			Region: o.Region, AccountID: o.AccountID, Output: o.Output, Log: o.Log})
		s.Pools[f.LogicalID] = p
		invokers[f.LogicalID] = p
	}

	// ctx2 lives as long as the stack: SQS pollers and asynchronous invokes.
	ctx2, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel

	restAPIs := t.RestAPIs()
	if len(restAPIs) > 1 {
		return nil, errors.New("local: the template has more than one REST API; one is supported")
	}
	// No http.ServeMux in front of the gateway: it would clean dot
	// segments and redirect (a DELETE of /v1/groups/g/members/.. followed
	// to the group itself). API Gateway hands the path to the route as it
	// came, so ".." reaches the function as an id, which refuses it.
	var restHandler http.Handler = http.NotFoundHandler()
	if len(restAPIs) == 1 {
		stage, err := rv.Value(restAPIs[0].StageName)
		if err != nil {
			return nil, err
		}
		// CORS and gateway response headers may name parameters
		// (CorsAllowOrigin): resolved as a deployment would.
		api, err := restAPIs[0].Resolve(rv.Value)
		if err != nil {
			return nil, err
		}
		s.REST, err = NewRESTGateway(api, t.RestRoutes(), invokers, stage, o.Region, o.AccountID, o.Log.With("gateway", "rest"))
		if err != nil {
			return nil, err
		}
		for prefix, h := range o.Extra {
			s.REST.Handle(prefix, h)
		}
		if s.UserPool != nil {
			if err := s.UserPool.connect(invokers); err != nil {
				return nil, err
			}
			s.REST.Handle(cognitoPrefix, s.UserPool)
		}
		if tap != nil {
			s.REST.Handle(eventsPath, tap)
		}
		s.REST.Handle(lambdaAPIPrefix, &lambdaAPI{invokers: invokers, stackName: o.StackName, log: o.Log.With("api", "lambda"), background: ctx2})
		restHandler = s.REST
	}
	s.serve(restL, restHandler, nil)

	if len(wsAPIs) > 1 {
		return nil, errors.New("local: the template has more than one WebSocket API; one is supported")
	}
	if len(wsAPIs) == 1 {
		stage, err := rv.Value(wsAPIs[0].Stage.StageName)
		if err != nil {
			return nil, err
		}
		s.WS, err = NewWSGateway(wsAPIs[0], invokers, stage, o.Region, o.AccountID, o.Limits, o.Log.With("gateway", "websocket"))
		if err != nil {
			return nil, err
		}
		s.serve(s.WS.Listener(wsL), s.WS, ConnContext)
	} else {
		wsL.Close()
	}

	client := sqs.NewFromConfig(o.AWS)
	for _, src := range t.SQSSources() {
		if !src.Enabled {
			continue
		}
		url, ok := res.QueueURLs[src.Queue]
		if !ok {
			return nil, fmt.Errorf("local: %s.%s: queue %q is not in the template", src.Function, src.Event, src.Queue)
		}
		p := &SQSPoller{Source: src, QueueURL: url, QueueARN: res.QueueARNs[src.Queue], Region: o.Region, Client: client,
			Fn: invokers[src.Function], Log: o.Log.With("trigger", "sqs"), Wait: o.SQSWait}
		s.SQS = append(s.SQS, p)
		// ScalingConfig.MaximumConcurrency, else one poller (Lambda starts
		// with a few and scales with the backlog; one keeps a laptop quiet).
		for i := 0; i < max(src.MaxConcurrency, 1); i++ {
			s.pollers.Go(func() { p.Run(ctx2) })
		}
	}
	if err := s.startStreams(ctx2, o, invokers); err != nil {
		return nil, err
	}
	// Retire sandboxes idle for 5 minutes, as Lambda does, so a burst
	// does not leave dozens of processes running on a laptop.
	s.pollers.Go(func() {
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx2.Done():
				return
			case <-tick.C:
				for _, p := range s.Pools {
					p.ReapIdle(5 * time.Minute)
				}
			}
		}
	})
	return s, nil
}

func (s *Stack) serve(l net.Listener, h http.Handler, connCtx func(context.Context, net.Conn) context.Context) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnContext: connCtx, ErrorLog: nil}
	s.servers = append(s.servers, srv)
	go srv.Serve(l)
}

// Served lists what the stack serves, as template keys: "REST METHOD
// /path", "WS routeKey", "SQS Function.Event", "DynamoDB Function.Event".
func (s *Stack) Served() []string {
	var out []string
	if s.REST != nil {
		for _, k := range s.REST.Served() {
			out = append(out, "REST "+k)
		}
	}
	if s.WS != nil {
		for _, k := range s.WS.Served() {
			out = append(out, "WS "+k)
		}
	}
	for _, p := range s.SQS {
		out = append(out, "SQS "+p.Source.Function+"."+p.Source.Event)
	}
	for _, p := range s.Streams {
		out = append(out, "DynamoDB "+p.Source.Function+"."+p.Source.Event)
	}
	sort.Strings(out)
	return out
}

// Close stops the pollers, closes every WebSocket (running $disconnect),
// stops the gateways and kills every function process.
func (s *Stack) Close(ctx context.Context) {
	if s.cancel != nil {
		s.cancel()
	}
	if s.WS != nil {
		s.WS.Close(ctx)
	}
	for _, srv := range s.servers {
		srv.Shutdown(ctx)
		srv.Close()
	}
	s.waitPollers(ctx)
	for _, p := range s.Pools {
		p.Close()
	}
}

func (s *Stack) waitPollers(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.pollers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
