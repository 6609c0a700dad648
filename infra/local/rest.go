package local

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// MaxRESTPayload is API Gateway's REST payload limit (10 MB).
const MaxRESTPayload = 10 << 20

// IntegrationTimeout is API Gateway's integration time limit (29 s).
const IntegrationTimeout = 29 * time.Second

// RESTGateway serves the template's REST routes as API Gateway does.
type RESTGateway struct {
	api        template.RestAPI
	routes     []restRoute
	responses  gatewayResponses
	stage      string
	apiID      string
	region     string
	account    string
	log        *slog.Logger
	extra      map[string]http.Handler // path prefix -> local-only handler (the demo)
	authorizer map[string]Invoker      // authorizer name -> function
}

type restRoute struct {
	template.RestRoute
	segments   []string
	fn         Invoker
	authorizer *template.Authorizer // nil: public
}

// NewRESTGateway builds the gateway. functions maps logical ids to invokers.
func NewRESTGateway(api template.RestAPI, routes []template.RestRoute, functions map[string]Invoker, stage, region, account string, log *slog.Logger) (*RESTGateway, error) {
	g := &RESTGateway{api: api, responses: gatewayResponses(api.GatewayResponses), stage: stage, apiID: APIID(api.LogicalID),
		region: region, account: account, log: log, extra: map[string]http.Handler{}, authorizer: map[string]Invoker{}}
	for _, r := range routes {
		fn, ok := functions[r.Function]
		if !ok {
			return nil, errorf("REST route %s: function %s is not running", r.Key(), r.Function)
		}
		rr := restRoute{RestRoute: r, segments: split(r.Path), fn: fn}
		if !r.Public && api.DefaultAuthorizer != "" {
			a, ok := api.Authorizers[api.DefaultAuthorizer]
			if !ok {
				return nil, errorf("authorizer %s is not defined", api.DefaultAuthorizer)
			}
			af, ok := functions[a.Function]
			if !ok {
				return nil, errorf("authorizer function %s is not running", a.Function)
			}
			rr.authorizer = &a
			g.authorizer[a.Name] = af
		}
		g.routes = append(g.routes, rr)
	}
	return g, nil
}

// Handle mounts a local-only handler under a path prefix (e.g. /demo);
// call it before the gateway serves.
func (g *RESTGateway) Handle(prefix string, h http.Handler) { g.extra[prefix] = h }

// Served lists the route keys the gateway serves.
func (g *RESTGateway) Served() []string {
	var out []string
	for _, r := range g.routes {
		out = append(out, r.Key())
	}
	sort.Strings(out)
	return out
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// match finds the route for method and path; static segments beat
// {params}, which beat {greedy+}, as in API Gateway.
func (g *RESTGateway) match(method, p string) (*restRoute, map[string]string, bool) {
	segs := split(p)
	var best *restRoute
	var bestParams map[string]string
	bestScore := -1
	pathExists := false
	for i := range g.routes {
		r := &g.routes[i]
		params, score, ok := matchSegments(r.segments, segs)
		if !ok {
			continue
		}
		pathExists = true
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		if r.Method == method {
			score++
		}
		if score > bestScore {
			best, bestParams, bestScore = r, params, score
		}
	}
	return best, bestParams, pathExists
}

func matchSegments(pattern, segs []string) (map[string]string, int, bool) {
	params := map[string]string{}
	score := 0
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(segs) {
				return nil, 0, false
			}
			params[p[1:len(p)-2]] = strings.Join(segs[i:], "/")
			return params, score, true
		}
		if i >= len(segs) {
			return nil, 0, false
		}
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			if segs[i] == "" {
				return nil, 0, false
			}
			params[p[1:len(p)-1]] = segs[i]
			score += 2
		case p == segs[i]:
			score += 4
		default:
			return nil, 0, false
		}
	}
	if len(segs) != len(pattern) {
		return nil, 0, false
	}
	return params, score, true
}

func (g *RESTGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := runtime.NewRequestID()
	for prefix, h := range g.extra {
		if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") {
			h.ServeHTTP(w, r)
			return
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	g.serve(sw, r, reqID)
	g.log.Info("rest", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "status", sw.status, "latency_ms", time.Since(start).Milliseconds())
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (g *RESTGateway) serve(w http.ResponseWriter, r *http.Request, reqID string) {
	p := r.URL.Path
	// URLs copied from AWS carry the stage: /prod/v1/... is /v1/... here.
	if rest, ok := strings.CutPrefix(p, "/"+g.stage+"/"); ok {
		p = "/" + rest
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRESTPayload+1))
	if err != nil {
		g.responses.write(w, "BAD_REQUEST_BODY", reqID)
		return
	}
	if len(body) > MaxRESTPayload {
		g.responses.write(w, "REQUEST_TOO_LARGE", reqID)
		return
	}
	route, params, pathExists := g.match(r.Method, p)
	if r.Method == http.MethodOptions && g.api.Cors != nil && pathExists && (route == nil || route.Method != "OPTIONS") {
		g.preflight(w, reqID)
		return
	}
	if route == nil {
		g.responses.write(w, "MISSING_AUTHENTICATION_TOKEN", reqID)
		return
	}
	ev := g.event(r, p, route, params, body, reqID)
	if route.authorizer != nil {
		a := route.authorizer
		if !identityPresent(a, r.Header.Get, r.URL.Query().Get) {
			g.responses.write(w, "UNAUTHORIZED", reqID)
			return
		}
		methodArn := g.methodArn(r.Method, p)
		start := time.Now()
		res := authorize(r.Context(), g.authorizer[a.Name], authorizerEvent(ev, methodArn), methodArn)
		switch res.decision {
		case authUnauthorized:
			g.responses.write(w, "UNAUTHORIZED", reqID)
			return
		case authDenied:
			g.responses.write(w, "ACCESS_DENIED", reqID)
			return
		case authFailed:
			g.responses.write(w, "AUTHORIZER_FAILURE", reqID)
			return
		}
		res.context["integrationLatency"] = time.Since(start).Milliseconds()
		ev.RequestContext.Authorizer = res.context
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		g.responses.write(w, "DEFAULT_5XX", reqID)
		return
	}
	// A client that hangs up does not cancel a Lambda invocation; the wait
	// for a free sandbox is bounded by API Gateway's 29 s integration limit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), IntegrationTimeout)
	defer cancel()
	out, err := route.fn.Invoke(ctx, payload)
	if err != nil {
		g.log.Warn("integration error", "request_id", reqID, "route", route.Key(), "err", err.Error())
		switch runtime.KindOf(err) {
		case runtime.Timeout:
			g.responses.write(w, "INTEGRATION_TIMEOUT", reqID)
		case runtime.Throttled:
			g.responses.write(w, "THROTTLED", reqID)
		default:
			g.responses.write(w, "INTEGRATION_FAILURE", reqID)
		}
		return
	}
	g.writeProxyResponse(w, out, reqID)
}

func (g *RESTGateway) preflight(w http.ResponseWriter, reqID string) {
	c := g.api.Cors
	h := w.Header()
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Access-Control-Allow-Origin", c.AllowOrigin)
	set("Access-Control-Allow-Headers", c.AllowHeaders)
	set("Access-Control-Allow-Methods", c.AllowMethods)
	set("Access-Control-Max-Age", c.MaxAge)
	h.Set("x-amzn-RequestId", reqID)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
}

func (g *RESTGateway) methodArn(method, p string) string {
	return "arn:aws:execute-api:" + g.region + ":" + g.account + ":" + g.apiID + "/" + g.stage + "/" + method + p
}

// event builds the proxy event as API Gateway does.
func (g *RESTGateway) event(r *http.Request, p string, route *restRoute, params map[string]string, body []byte, reqID string) events.APIGatewayProxyRequest {
	now := time.Now().UTC()
	ip := clientIP(r)
	headers, multi := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		headers[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	if r.Host != "" {
		headers["Host"], multi["Host"] = r.Host, []string{r.Host}
	}
	trace := "Root=1-" + hex.EncodeToString([]byte(now.Format("150405")))[:8] + "-" + strings.ReplaceAll(reqID, "-", "")[:24]
	for k, v := range map[string]string{"X-Forwarded-For": ip, "X-Forwarded-Proto": "http", "X-Forwarded-Port": port(r), "X-Amzn-Trace-Id": trace} {
		if _, ok := headers[k]; !ok {
			headers[k], multi[k] = v, []string{v}
		}
	}
	ev := events.APIGatewayProxyRequest{
		Resource: route.Path, Path: p, HTTPMethod: r.Method, Headers: headers, MultiValueHeaders: multi,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: g.account, ResourceID: resourceID(route.Path), Stage: g.stage, RequestID: reqID,
			Identity:     events.APIGatewayRequestIdentity{SourceIP: ip, UserAgent: r.UserAgent()},
			ResourcePath: route.Path, HTTPMethod: r.Method, APIID: g.apiID, Protocol: r.Proto,
			RequestTime: now.Format("02/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: now.UnixMilli(),
			DomainName: r.Host, Path: "/" + g.stage + p, ExtendedRequestID: reqID,
		},
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string(q)
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}
	if len(params) > 0 {
		ev.PathParameters = params
	}
	if len(body) > 0 {
		if g.binary(r.Header.Get("Content-Type"), body) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		} else {
			ev.Body = string(body)
		}
	}
	return ev
}

func authorizerEvent(ev events.APIGatewayProxyRequest, methodArn string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	rc := ev.RequestContext
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodArn, Resource: ev.Resource, Path: ev.Path, HTTPMethod: ev.HTTPMethod,
		Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders, QueryStringParameters: ev.QueryStringParameters,
		MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters, PathParameters: ev.PathParameters,
		StageVariables: ev.StageVariables,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: rc.Path, AccountID: rc.AccountID, ResourceID: rc.ResourceID, Stage: rc.Stage, RequestID: rc.RequestID,
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: rc.Identity.SourceIP},
			ResourcePath: rc.ResourcePath, HTTPMethod: rc.HTTPMethod, APIID: rc.APIID,
		},
	}
}

// writeProxyResponse maps a proxy integration's reply to HTTP; a reply
// that is not one is a 502, as on API Gateway ("Malformed Lambda proxy
// response").
func (g *RESTGateway) writeProxyResponse(w http.ResponseWriter, out []byte, reqID string) {
	var resp struct {
		StatusCode        int                 `json:"statusCode"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Body              string              `json:"body"`
		IsBase64Encoded   bool                `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		g.log.Warn("malformed Lambda proxy response", "request_id", reqID)
		g.responses.write(w, "INTEGRATION_FAILURE", reqID)
		return
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			g.responses.write(w, "INTEGRATION_FAILURE", reqID)
			return
		}
		body = b
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		if _, ok := resp.MultiValueHeaders[k]; !ok {
			h.Set(k, v)
		}
	}
	h.Set("x-amzn-RequestId", reqID)
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func port(r *http.Request) string {
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		return p
	}
	return "80"
}

// resourceID is a stable short id per resource path, like API Gateway's.
func resourceID(p string) string {
	s := sha1.Sum([]byte(p))
	return hex.EncodeToString(s[:3])
}
