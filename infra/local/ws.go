package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// WSLimits are API Gateway's WebSocket quotas.
type WSLimits struct {
	MaxFrame   int           // 32 KB per frame
	MaxMessage int           // 128 KB per message
	Idle       time.Duration // 10 minutes without a frame
	Lifetime   time.Duration // 2 hours per connection
}

// DefaultWSLimits are AWS's values.
var DefaultWSLimits = WSLimits{MaxFrame: 32 << 10, MaxMessage: 128 << 10, Idle: 10 * time.Minute, Lifetime: 2 * time.Hour}

// WSGateway serves a WebSocket API: handshakes with the $connect
// authorizer and route, route selection per frame, $disconnect, and the
// @connections management API at /<stage>/@connections/<id>.
type WSGateway struct {
	api        template.WebSocketAPI
	routes     map[string]Invoker
	authorizer *template.Authorizer
	authFn     Invoker
	selectPath []string // $request.body.<path>
	stage      string
	apiID      string
	region     string
	account    string
	limits     WSLimits
	log        *slog.Logger
	upgrader   websocket.Upgrader

	mu    sync.Mutex
	conns map[string]*wsConn
	wg    sync.WaitGroup // connection handlers, for Close
}

type wsConn struct {
	id          string
	ws          *websocket.Conn
	sniff       *frameSniffer
	authCtx     map[string]any
	connectedAt time.Time
	identity    events.APIGatewayRequestIdentity
	headers     map[string]string
	lifetime    *time.Timer

	mu          sync.Mutex // serializes writes
	lastActive  time.Time
	closing     bool
	closeCode   int // set by the gateway when it closes the connection
	closeReason string
}

// NewWSGateway builds the gateway for api. functions maps logical ids to invokers.
func NewWSGateway(api template.WebSocketAPI, functions map[string]Invoker, stage, region, account string, limits WSLimits, log *slog.Logger) (*WSGateway, error) {
	g := &WSGateway{api: api, routes: map[string]Invoker{}, stage: stage, apiID: APIID(api.LogicalID), region: region,
		account: account, limits: limits, log: log, conns: map[string]*wsConn{}}
	expr, ok := strings.CutPrefix(api.RouteSelectionExpression, "$request.body.")
	if !ok {
		return nil, errorf("WebSocket API %s: unsupported RouteSelectionExpression %q", api.LogicalID, api.RouteSelectionExpression)
	}
	g.selectPath = strings.Split(expr, ".")
	for _, r := range api.Routes {
		fn, ok := functions[r.Function]
		if !ok {
			return nil, errorf("WebSocket route %s: function %q is not running", r.RouteKey, r.Function)
		}
		g.routes[r.RouteKey] = fn
		if r.Authorizer != nil {
			if r.RouteKey != "$connect" {
				return nil, errorf("WebSocket authorizers belong on $connect, not %s", r.RouteKey)
			}
			af, ok := functions[r.Authorizer.Function]
			if !ok {
				return nil, errorf("WebSocket authorizer function %q is not running", r.Authorizer.Function)
			}
			g.authorizer, g.authFn = r.Authorizer, af
		}
	}
	g.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// API Gateway accepts any Origin; browsers' pages are served elsewhere.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return g, nil
}

// Served lists the route keys.
func (g *WSGateway) Served() []string {
	var out []string
	for k := range g.routes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Connections is the number of open connections.
func (g *WSGateway) Connections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// ConnContext puts the raw connection into each request's context, so the
// handshake can find its frame sniffer (http.Server.ConnContext).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if s, ok := c.(*frameSniffer); ok {
		return context.WithValue(ctx, snifferKey{}, s)
	}
	return ctx
}

type snifferKey struct{}

// Listener wraps l so the gateway can enforce the per-frame limit.
func (g *WSGateway) Listener(l net.Listener) net.Listener {
	return &sniffListener{Listener: l, max: g.limits.MaxFrame}
}

func (g *WSGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/@connections/") {
		g.manage(w, r)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUpgradeRequired)
		io.WriteString(w, `{"message":"This is the WebSocket endpoint: connect with a WebSocket client (see docs/websocket.md)."}`)
		return
	}
	g.wg.Add(1)
	defer g.wg.Done()
	g.handshake(w, r)
}

func newConnectionID() string {
	for {
		b := make([]byte, 10)
		rand.Read(b)
		id := base64.StdEncoding.EncodeToString(b)
		if !strings.ContainsAny(id, "+/") {
			return id
		}
	}
}

func (g *WSGateway) baseContext(c *wsConn, route, eventType, reqID string) events.APIGatewayWebsocketProxyRequestContext {
	now := time.Now().UTC()
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey: route, EventType: eventType, ExtendedRequestID: reqID, RequestID: reqID, MessageDirection: "IN",
		Stage: g.stage, ConnectedAt: c.connectedAt.UnixMilli(), RequestTime: now.Format("02/Jan/2006:15:04:05 -0700"),
		RequestTimeEpoch: now.UnixMilli(), Identity: c.identity, DomainName: "127.0.0.1", ConnectionID: c.id,
		APIID: g.apiID, AccountID: g.account, Authorizer: c.authCtx,
	}
}

func (g *WSGateway) refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (g *WSGateway) handshake(w http.ResponseWriter, r *http.Request) {
	reqID := runtime.NewRequestID()
	c := &wsConn{id: newConnectionID(), connectedAt: time.Now().UTC(),
		identity: events.APIGatewayRequestIdentity{SourceIP: clientIP(r), UserAgent: r.UserAgent()}}
	headers, multi := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		headers[k], multi[k] = vs[len(vs)-1], vs
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query, multiQuery = map[string]string{}, map[string][]string(q)
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
		}
	}
	c.headers = headers
	log := g.log.With("connection_id", c.id, "request_id", reqID)
	ctx := atOnce()

	if g.authorizer != nil {
		if !identityPresent(g.authorizer, r.Header.Get, r.URL.Query().Get) {
			log.Info("handshake refused", "status", 401, "why", "identity source missing")
			g.refuse(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		methodArn := "arn:aws:execute-api:" + g.region + ":" + g.account + ":" + g.apiID + "/" + g.stage + "/$connect"
		rc := g.baseContext(c, "$connect", "CONNECT", reqID)
		rc.Authorizer = nil
		ev := map[string]any{"type": "REQUEST", "methodArn": methodArn, "headers": headers, "multiValueHeaders": multi,
			"queryStringParameters": query, "multiValueQueryStringParameters": multiQuery, "stageVariables": map[string]string{},
			"requestContext": rc}
		res := authorize(ctx, g.authFn, ev, methodArn)
		switch res.decision {
		case authUnauthorized:
			log.Info("handshake refused", "status", 401)
			g.refuse(w, http.StatusUnauthorized, "Unauthorized")
			return
		case authDenied:
			log.Info("handshake refused", "status", 403)
			g.refuse(w, http.StatusForbidden, "Forbidden")
			return
		case authFailed:
			log.Warn("handshake refused", "status", 500, "why", "authorizer failed", "err", fmt.Sprint(res.err))
			g.refuse(w, http.StatusInternalServerError, "Internal server error")
			return
		}
		c.authCtx = res.context
	}
	var respHeader http.Header
	if fn, ok := g.routes["$connect"]; ok {
		ev := events.APIGatewayWebsocketProxyRequest{Headers: headers, MultiValueHeaders: multi, QueryStringParameters: query,
			MultiValueQueryStringParameters: multiQuery, RequestContext: g.baseContext(c, "$connect", "CONNECT", reqID)}
		status, hdrs, err := g.invokeRoute(ctx, fn, ev)
		if err != nil {
			log.Warn("handshake refused", "status", 500, "err", err.Error())
			g.refuse(w, http.StatusInternalServerError, "Internal server error")
			return
		}
		if status < 200 || status > 299 {
			log.Info("handshake refused", "status", status, "why", "$connect answered non-2xx")
			g.refuse(w, status, http.StatusText(status))
			return
		}
		for k, v := range hdrs {
			if strings.EqualFold(k, "Sec-WebSocket-Protocol") {
				respHeader = http.Header{"Sec-Websocket-Protocol": []string{v}}
			}
		}
	}
	ws, err := g.upgrader.Upgrade(w, r, respHeader)
	if err != nil {
		// The client went away mid-handshake: $connect ran, so $disconnect runs too.
		log.Info("upgrade failed", "err", err.Error())
		g.disconnect(c, websocket.CloseAbnormalClosure, "upgrade failed")
		return
	}
	c.ws = ws
	c.sniff, _ = r.Context().Value(snifferKey{}).(*frameSniffer)
	c.lastActive = time.Now()
	g.mu.Lock()
	g.conns[c.id] = c
	g.mu.Unlock()
	c.lifetime = time.AfterFunc(g.limits.Lifetime, func() {
		g.closeConn(c, websocket.CloseGoingAway, "Going away")
	})
	log.Info("connected")
	code, reason := g.readLoop(c, log)
	c.lifetime.Stop()
	g.closeConn(c, code, reason)
	g.disconnect(c, code, reason)
}

// readLoop serves frames until the connection ends; it returns the close
// code and reason for $disconnect.
func (g *WSGateway) readLoop(c *wsConn, log *slog.Logger) (int, string) {
	ws := c.ws
	ws.SetReadLimit(int64(g.limits.MaxMessage))
	if c.sniff != nil {
		c.sniff.activate()
	}
	touch := func() {
		ws.SetReadDeadline(time.Now().Add(g.limits.Idle))
		c.mu.Lock()
		c.lastActive = time.Now()
		c.mu.Unlock()
	}
	ws.SetPingHandler(func(data string) error {
		touch()
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
	})
	for {
		touch()
		mt, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			var ne net.Error
			switch {
			case c.sniff != nil && c.sniff.tooLarge():
				return websocket.CloseMessageTooBig, "Frame too large"
			case errors.Is(err, websocket.ErrReadLimit):
				return websocket.CloseMessageTooBig, "Message too big"
			case errors.As(err, &ce):
				return ce.Code, ce.Text
			case errors.As(err, &ne) && ne.Timeout():
				return websocket.CloseGoingAway, "Idle timeout"
			}
			if code, reason, ok := c.closedBy(); ok {
				return code, reason
			}
			return websocket.CloseAbnormalClosure, "Connection lost"
		}
		g.message(c, mt, data, log)
	}
}

// message runs the route selected for one frame. Frames of a connection
// are served one at a time, in order.
func (g *WSGateway) message(c *wsConn, mt int, data []byte, log *slog.Logger) {
	reqID := runtime.NewRequestID()
	route := "$default"
	if mt == websocket.TextMessage {
		if key, ok := selectRoute(data, g.selectPath); ok {
			if _, exists := g.routes[key]; exists {
				route = key
			}
		}
	}
	fn, ok := g.routes[route]
	if !ok {
		g.sendJSON(c, map[string]string{"message": "Forbidden", "connectionId": c.id, "requestId": reqID})
		return
	}
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: g.baseContext(c, route, "MESSAGE", reqID)}
	ev.RequestContext.MessageID = reqID[:16]
	if mt == websocket.TextMessage && utf8.Valid(data) {
		ev.Body = string(data)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(data), true
	}
	_, _, err := g.invokeRoute(atOnce(), fn, ev)
	if err != nil {
		log.Warn("route failed", "route", route, "request_id", reqID, "err", err.Error())
		g.sendJSON(c, map[string]string{"message": "Internal server error", "connectionId": c.id, "requestId": reqID})
	}
}

// atOnce is the context of the handshake's and the frames' invocations:
// it bounds only the wait for a free sandbox (runtime.Pool.Invoke), and
// there is none. Lambda throttles a synchronous invocation at once when
// the function is at its concurrency limit - it never queues it - and API
// Gateway then answers the generic frame, or 500 to a handshake. Waiting
// instead (REST's 29 s) would hold a socket's later frames behind one that
// cannot run, and the client's retries would pile up behind it.
func atOnce() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// selectRoute evaluates $request.body.<path> on a frame.
func selectRoute(data []byte, path []string) (string, bool) {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return "", false
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = m[p]
	}
	s, ok := v.(string)
	return s, ok && s != ""
}

// invokeRoute invokes a route's function and decodes its status.
func (g *WSGateway) invokeRoute(ctx context.Context, fn Invoker, ev events.APIGatewayWebsocketProxyRequest) (int, map[string]string, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return 0, nil, err
	}
	out, err := fn.Invoke(ctx, payload)
	if err != nil {
		return 0, nil, err
	}
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
	}
	if json.Unmarshal(out, &resp) != nil || resp.StatusCode == 0 {
		// A reply without a statusCode (null, or another shape) counts as
		// success: only the function error fails the route.
		return 200, nil, nil
	}
	return resp.StatusCode, resp.Headers, nil
}

func (g *WSGateway) disconnect(c *wsConn, code int, reason string) {
	fn, ok := g.routes["$disconnect"]
	if !ok {
		return
	}
	reqID := runtime.NewRequestID()
	ev := events.APIGatewayWebsocketProxyRequest{Headers: c.headers, RequestContext: g.baseContext(c, "$disconnect", "DISCONNECT", reqID)}
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	ctx, cancel := context.WithTimeout(context.Background(), IntegrationTimeout)
	defer cancel()
	if _, _, err := g.invokeRoute(ctx, fn, ev); err != nil {
		g.log.Warn("$disconnect failed", "connection_id", c.id, "err", err.Error())
	}
	g.log.Info("disconnected", "connection_id", c.id, "code", code, "reason", reason)
}

// closedBy returns the close code and reason if the gateway closed c.
func (c *wsConn) closedBy() (int, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeReason, c.closing
}

// closeConn sends a close frame and closes the socket (idempotent).
func (g *WSGateway) closeConn(c *wsConn, code int, reason string) {
	g.mu.Lock()
	delete(g.conns, c.id)
	g.mu.Unlock()
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing, c.closeCode, c.closeReason = true, code, reason
	c.mu.Unlock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.ws.Close()
}

// write sends one data frame; false if the connection is gone.
func (g *WSGateway) write(c *wsConn, data []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	mt := websocket.TextMessage
	if !utf8.Valid(data) {
		mt = websocket.BinaryMessage
	}
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(mt, data); err != nil {
		c.closing, c.closeCode, c.closeReason = true, websocket.CloseAbnormalClosure, "Write failed"
		c.ws.Close()
		return false
	}
	return true
}

func (g *WSGateway) sendJSON(c *wsConn, v any) {
	b, _ := json.Marshal(v)
	g.write(c, b)
}

// Close closes every connection (each runs $disconnect) and waits for
// their handlers, up to ctx.
func (g *WSGateway) Close(ctx context.Context) {
	g.mu.Lock()
	conns := make([]*wsConn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		g.closeConn(c, websocket.CloseGoingAway, "Going away")
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
