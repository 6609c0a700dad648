package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/realtime"
)

// Handler serves every route of the WebSocket API. API Gateway picks the
// route from the frame's "action" field ($request.body.action); frames
// without a known action reach $default.
type Handler struct {
	conns   realtime.Store
	push    realtime.Pusher
	log     *slog.Logger
	now     func() time.Time
	actions map[string]ActionFunc
}

// ActionFunc serves one action route. It answers the client through the
// pusher (API Gateway discards a route's return value unless the route has
// a route response, and TokenIM's routes have none).
type ActionFunc func(ctx context.Context, c *Call) error

// Call is one frame received on an action route.
type Call struct {
	Principal    auth.Principal
	ConnectionID string
	RequestID    string          // the frame's request_id, echoed in replies
	Body         json.RawMessage // the whole frame
}

// NewHandler builds the handler with its action routes. Action names must
// match the template's WebSocket routes (TestRoutesMatchTemplate).
func NewHandler(conns realtime.Store, push realtime.Pusher, log *slog.Logger) *Handler {
	h := &Handler{conns: conns, push: push, log: log, now: time.Now}
	h.actions = map[string]ActionFunc{
		"ping": h.ping,
	}
	return h
}

// Routes lists the route keys the handler serves.
func (h *Handler) Routes() []string {
	out := []string{"$connect", "$disconnect", "$default"}
	for k := range h.actions {
		out = append(out, k)
	}
	return out
}

// Limits on client-supplied metadata stored with a connection.
const (
	maxDevice    = 64
	maxUserAgent = 256
	maxRequestID = 128
)

// Handle dispatches on the route key.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	authz, _ := rc.Authorizer.(map[string]any)
	p, err := auth.FromContextFields(authz)
	if err != nil {
		// Only reachable if a route were deployed without the authorizer.
		h.log.WarnContext(ctx, "no principal", "route", rc.RouteKey, "connection_id", rc.ConnectionID)
		return status(http.StatusUnauthorized), nil
	}
	switch rc.RouteKey {
	case "$connect":
		return h.connect(ctx, p, ev)
	case "$disconnect":
		return h.disconnect(ctx, p, ev)
	}
	call := &Call{Principal: p, ConnectionID: rc.ConnectionID, Body: json.RawMessage(ev.Body)}
	var frame struct {
		Action    any `json:"action"` // checked by route selection; any type is fine here
		RequestID any `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(ev.Body), &frame); err != nil {
		return h.reply(ctx, call, errFrame(apierror.InvalidJSON, "Frames must be JSON objects with an \"action\" field."))
	}
	call.RequestID = requestID(frame.RequestID)
	act, ok := h.actions[rc.RouteKey]
	if !ok {
		return h.reply(ctx, call, errFrame(apierror.UnknownAction, "Unknown action; see docs/websocket.md for the actions."))
	}
	if err := act(ctx, call); err != nil {
		if apierror.CodeOf(err) == apierror.Internal {
			h.log.ErrorContext(ctx, "action failed", "route", rc.RouteKey, "connection_id", rc.ConnectionID, "err", err.Error())
		}
		return h.reply(ctx, call, apierror.Public(err))
	}
	return status(http.StatusOK), nil
}

// requestID echoes a client's request_id only if it is a short string.
func requestID(v any) string {
	s, _ := v.(string)
	if len(s) > maxRequestID || !utf8.ValidString(s) {
		return ""
	}
	return s
}

func (h *Handler) connect(ctx context.Context, p auth.Principal, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	userID, err := p.User()
	if err != nil {
		// A connection belongs to a user: admin tokens cannot open one.
		return status(http.StatusForbidden), nil
	}
	c := realtime.NewConnection(userID, ev.RequestContext.ConnectionID, h.now())
	c.Device = clip(ev.QueryStringParameters["device"], maxDevice)
	c.UserAgent = clip(ev.RequestContext.Identity.UserAgent, maxUserAgent)
	c.SourceIP = ev.RequestContext.Identity.SourceIP
	if err := h.conns.PutConnection(ctx, c); err != nil {
		h.log.ErrorContext(ctx, "connect failed", "connection_id", c.ConnectionID, "err", err.Error())
		return status(http.StatusInternalServerError), nil
	}
	h.log.InfoContext(ctx, "connected", "connection_id", c.ConnectionID, "user_id", userID)
	resp := status(http.StatusOK)
	// A browser that offered the "tokenim" subprotocol needs it echoed, or it
	// drops the connection.
	if ev.Headers["Sec-WebSocket-Protocol"] != "" || ev.Headers["sec-websocket-protocol"] != "" {
		resp.Headers = map[string]string{"Sec-WebSocket-Protocol": "tokenim"}
	}
	return resp, nil
}

func (h *Handler) disconnect(ctx context.Context, p auth.Principal, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	if p.Kind != auth.KindUser {
		return status(http.StatusOK), nil
	}
	if err := h.conns.DeleteConnection(ctx, p.UserID, ev.RequestContext.ConnectionID); err != nil {
		// The TTL removes the record within 2 hours anyway.
		h.log.ErrorContext(ctx, "disconnect cleanup failed", "connection_id", ev.RequestContext.ConnectionID, "err", err.Error())
		return status(http.StatusInternalServerError), nil
	}
	h.log.InfoContext(ctx, "disconnected", "connection_id", ev.RequestContext.ConnectionID, "user_id", p.UserID)
	return status(http.StatusOK), nil
}

// ping answers {"type":"pong","request_id":...}: a liveness check that
// exercises the whole path (gateway, function, management API).
func (h *Handler) ping(ctx context.Context, c *Call) error {
	return h.send(ctx, c.ConnectionID, realtime.Frame{Type: "pong", RequestID: c.RequestID})
}

// reply sends an error frame for e to the caller.
func (h *Handler) reply(ctx context.Context, c *Call, e *apierror.Error) (events.APIGatewayProxyResponse, error) {
	err := h.send(ctx, c.ConnectionID, realtime.Frame{Type: "error", Code: string(e.Code), Message: e.Message, RequestID: c.RequestID})
	if err != nil {
		return status(http.StatusInternalServerError), nil
	}
	return status(apierror.HTTPStatus(e.Code)), nil
}

func (h *Handler) send(ctx context.Context, connID string, f realtime.Frame) error {
	err := realtime.Send(ctx, h.push, connID, f)
	if errors.Is(err, realtime.ErrGone) {
		return nil // the client left; nothing to answer
	}
	if err != nil {
		h.log.ErrorContext(ctx, "push failed", "connection_id", connID, "err", err.Error())
	}
	return err
}

func errFrame(code apierror.Code, msg string) *apierror.Error { return apierror.New(code, "%s", msg) }

func status(code int) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: code}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
