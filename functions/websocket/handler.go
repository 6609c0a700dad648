package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
)

// Chat is the use cases the actions call (*chat.Service): the same ones,
// with the same rules and idempotency, as the REST API.
type Chat interface {
	Send(ctx context.Context, p auth.Principal, in chat.SendInput) (chat.Message, bool, error)
	MarkRead(ctx context.Context, p auth.Principal, convID string, seq int64, asUser string) (chat.ReadState, error)
	Sync(ctx context.Context, p auth.Principal, in chat.SyncInput) (chat.SyncPage, error)
	GetConversation(ctx context.Context, p auth.Principal, convID, asUser string) (chat.Conversation, error)
	React(ctx context.Context, p auth.Principal, convID string, seq int64, emoji string, remove bool) (chat.Message, error)
	Pin(ctx context.Context, p auth.Principal, convID string, seq int64, unpin bool) (chat.PinState, error)
}

// Delivery pushes frames to audiences and reads presence (*realtime.Notifier).
type Delivery interface {
	Deliver(ctx context.Context, aud realtime.Audience, frame []byte) error
	Presence(ctx context.Context, ids []string) (map[string]realtime.Presence, error)
	Pusher() realtime.Pusher
}

// Handler serves every route of the WebSocket API. API Gateway picks the
// route from the frame's "action" field ($request.body.action); frames
// without a known action reach $default.
type Handler struct {
	conns   realtime.Store
	rt      Delivery
	push    realtime.Pusher
	chat    Chat
	log     *slog.Logger
	now     func() time.Time
	actions map[string]ActionFunc
	// standing re-reads a socket user's ban and role for every frame
	// (nil: the principal stays as $connect saw it).
	standing Standing
}

// Standing is a user principal as it stands now (*moderation.Guard): the
// current role and grants, or an error for a banned or deleted user.
type Standing interface {
	Standing(ctx context.Context, p auth.Principal) (auth.Principal, error)
}

// WithStanding makes every frame act with the user's current role and
// grants, and refuses (then closes) a banned or deleted user's socket.
func (h *Handler) WithStanding(s Standing) *Handler {
	h.standing = s
	return h
}

// ActionFunc serves one action route and returns the ack's result. The
// handler answers the client through the management API (API Gateway
// discards a route's return value unless the route has a route response,
// and TokenIM's routes have none).
type ActionFunc func(ctx context.Context, c *Call) (any, error)

// Call is one frame received on an action route.
type Call struct {
	Principal    auth.Principal
	UserID       string
	ConnectionID string
	Action       string
	RequestID    string // the frame's request_id, echoed in replies
	Body         []byte // the whole frame
}

// NewHandler builds the handler with its action routes. Action names must
// match the template's WebSocket routes (TestRoutesMatchTemplate).
func NewHandler(conns realtime.Store, rt Delivery, c Chat, log *slog.Logger) *Handler {
	h := &Handler{conns: conns, rt: rt, push: rt.Pusher(), chat: c, log: log, now: time.Now}
	h.actions = map[string]ActionFunc{
		"ping":     h.ping,
		"send":     h.send,
		"read":     h.read,
		"typing":   h.typing,
		"sync":     h.sync,
		"presence": h.presence,
		"react":    h.react,
		"pin":      h.pin,
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

// Limits.
const (
	maxDevice    = 64
	maxUserAgent = 256
	maxRequestID = 128
	// MaxFrameBytes is the largest client frame served: API Gateway's frame
	// size. Larger messages (sent as several frames, up to 128 KB) are
	// answered with payload_too_large.
	MaxFrameBytes = 32 << 10
	// maxReplyBytes keeps a reply under PostToConnection's 128 KB.
	maxReplyBytes = 120 << 10
	// Subprotocol is what a browser offers (and the $connect echoes) when
	// it sends its token in Sec-WebSocket-Protocol.
	Subprotocol = "tokenim"
)

// ReplyBudget is the part of an invocation kept for the reply: an action
// runs under a deadline this much earlier than the invocation's, so a frame
// whose work runs out of time still gets its one reply (docs/websocket.md).
const ReplyBudget = 1500 * time.Millisecond

// retryAfterMs is what an out-of-time reply tells the client to wait.
const retryAfterMs = 1000

// workContext is ctx with a deadline ReplyBudget before the invocation's
// (or half the time left, when less than two budgets are left).
func workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, d.Add(-min(ReplyBudget, time.Until(d)/2)))
}

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
	c := &Call{Principal: p, UserID: p.UserID, ConnectionID: rc.ConnectionID, Body: []byte(ev.Body)}
	if ev.IsBase64Encoded {
		// Binary frames: API Gateway cannot select a route for them.
		return h.fail(ctx, c, apierror.New(apierror.InvalidJSON, "Binary frames are not served; send JSON text frames."))
	}
	var head struct {
		Action    any `json:"action"`
		RequestID any `json:"request_id"`
	}
	if err := json.Unmarshal(c.Body, &head); err != nil {
		return h.fail(ctx, c, apierror.New(apierror.InvalidJSON, "Frames must be JSON objects with an \"action\" field."))
	}
	c.RequestID = requestID(head.RequestID)
	c.Action, _ = head.Action.(string)
	if len(c.Body) > MaxFrameBytes {
		return h.fail(ctx, c, apierror.New(apierror.PayloadTooLarge, "Frames are limited to %d bytes.", MaxFrameBytes))
	}
	act, ok := h.actions[rc.RouteKey]
	if !ok {
		return h.fail(ctx, c, apierror.New(apierror.UnknownAction, "Unknown action; see docs/websocket.md for the actions."))
	}
	c.Action = rc.RouteKey
	if p.Kind != auth.KindUser {
		return h.fail(ctx, c, apierror.New(apierror.Forbidden, "WebSocket connections belong to users."))
	}
	work, cancel := workContext(ctx)
	defer cancel()
	if h.standing != nil {
		// A socket keeps no permission from $connect: a ban, a deletion or
		// a role change acts on its next frame (docs/permissions.md,
		// "Open WebSockets").
		cur, err := h.standing.Standing(work, p)
		if code := apierror.CodeOf(err); code == apierror.Banned || code == apierror.Unauthorized {
			return h.refuseAndClose(ctx, c, apierror.Public(err))
		}
		if err != nil {
			h.log.ErrorContext(ctx, "standing check failed", "route", rc.RouteKey, "connection_id", rc.ConnectionID, "err", err.Error())
			return h.fail(ctx, c, apierror.Public(err))
		}
		c.Principal = cur
	}
	result, err := act(realtime.WithOrigin(work, c.ConnectionID), c)
	if err != nil {
		if work.Err() != nil {
			// The action ran out of its share of the invocation; the reply
			// still goes out, in the budget kept for it. A send may have
			// stored its message: the same client_msg_id returns it.
			h.log.WarnContext(ctx, "action out of time", "route", rc.RouteKey, "connection_id", rc.ConnectionID, "err", err.Error())
			return h.fail(ctx, c, apierror.New(apierror.ServiceUnavailable,
				"The request ran out of time; retry it (a send with the same client_msg_id returns the message if it was stored).").
				WithDetails(map[string]int{"retry_after_ms": retryAfterMs}))
		}
		if apierror.CodeOf(err) == apierror.Internal {
			h.log.ErrorContext(ctx, "action failed", "route", rc.RouteKey, "connection_id", rc.ConnectionID, "err", err.Error())
		}
		return h.fail(ctx, c, apierror.Public(err))
	}
	if c.Action == "ping" {
		return h.reply(ctx, c, realtime.Frame{Type: "pong", RequestID: c.RequestID}, http.StatusOK)
	}
	return h.reply(ctx, c, realtime.Frame{Type: "ack", Action: c.Action, RequestID: c.RequestID, Result: result}, http.StatusOK)
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
	// A browser that offered subprotocols drops the connection unless the
	// server selects one of them; API Gateway passes the $connect
	// response's header on. Only "tokenim" is ever selected (never the
	// token, which must not be echoed).
	if offered(ev.Headers, Subprotocol) {
		resp.Headers = map[string]string{"Sec-WebSocket-Protocol": Subprotocol}
	}
	return resp, nil
}

// offered reports whether the handshake's Sec-WebSocket-Protocol lists proto.
func offered(headers map[string]string, proto string) bool {
	for k, v := range headers {
		if !strings.EqualFold(k, "Sec-WebSocket-Protocol") {
			continue
		}
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == proto {
				return true
			}
		}
	}
	return false
}

func (h *Handler) disconnect(ctx context.Context, p auth.Principal, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	if p.Kind != auth.KindUser {
		return status(http.StatusOK), nil
	}
	if err := h.conns.DeleteConnection(ctx, p.UserID, ev.RequestContext.ConnectionID, h.now()); err != nil {
		// The TTL, or the first push's 410, removes the record anyway.
		h.log.ErrorContext(ctx, "disconnect cleanup failed", "connection_id", ev.RequestContext.ConnectionID, "err", err.Error())
		return status(http.StatusInternalServerError), nil
	}
	h.log.InfoContext(ctx, "disconnected", "connection_id", ev.RequestContext.ConnectionID, "user_id", p.UserID)
	return status(http.StatusOK), nil
}

// fail answers the caller with an error frame.
func (h *Handler) fail(ctx context.Context, c *Call, e *apierror.Error) (events.APIGatewayProxyResponse, error) {
	f := realtime.Frame{Type: "error", Action: c.Action, Code: string(e.Code), Message: e.Message, Details: e.Details, RequestID: c.RequestID}
	return h.reply(ctx, c, f, apierror.HTTPStatus(e.Code))
}

// refuseAndClose answers a frame of a user who may no longer use the
// socket (banned, deleted) with the error, then closes the socket and
// removes its record, as the ban's own close would have.
func (h *Handler) refuseAndClose(ctx context.Context, c *Call, e *apierror.Error) (events.APIGatewayProxyResponse, error) {
	resp, err := h.fail(ctx, c, e)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReplyBudget)
	defer cancel()
	if err := h.push.Close(cctx, c.ConnectionID); err != nil && !errors.Is(err, realtime.ErrGone) {
		h.log.WarnContext(ctx, "close refused socket", "connection_id", c.ConnectionID, "err", err.Error())
	}
	if err := h.conns.DeleteConnection(cctx, c.UserID, c.ConnectionID, h.now()); err != nil {
		h.log.WarnContext(ctx, "delete refused socket's record", "connection_id", c.ConnectionID, "err", err.Error())
	}
	h.log.InfoContext(ctx, "socket refused and closed", "connection_id", c.ConnectionID, "user_id", c.UserID, "code", string(e.Code))
	return resp, err
}

func (h *Handler) reply(ctx context.Context, c *Call, f realtime.Frame, code int) (events.APIGatewayProxyResponse, error) {
	// The reply has its own short context: it must go out even when the
	// action's context has expired (the one reply every frame gets).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReplyBudget)
	defer cancel()
	err := realtime.Send(rctx, h.push, c.ConnectionID, f)
	switch {
	case errors.Is(err, realtime.ErrGone):
		// The client left; nothing to answer.
	case err != nil:
		h.log.ErrorContext(ctx, "reply failed", "connection_id", c.ConnectionID, "err", err.Error())
		return status(http.StatusInternalServerError), nil
	}
	return status(code), nil
}

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
