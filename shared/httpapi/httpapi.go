// Package httpapi runs TokenIM's REST handlers inside Lambda: it routes API
// Gateway proxy events by the template's resource path, hands each route a
// Request with the authenticated principal, turns every error into the one
// error shape {"error":{"code","message","request_id"}}, recovers panics,
// and writes one structured log line per request.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/idempotency"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/strictjson"
)

// DefaultMaxBody is the largest JSON body a route accepts unless it says
// otherwise: far above any single-object request, far below API Gateway's
// 10 MB, so an oversized body costs nothing downstream.
const DefaultMaxBody = 64 << 10

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, r *Request) (Response, error)

// Route binds "METHOD /resource/{param}" (as in template.yaml) to a handler.
type Route struct {
	Method   string
	Resource string
	// Public routes run without a principal (no authorizer in the template).
	Public  bool
	MaxBody int // bytes; 0 means DefaultMaxBody
	Handler HandlerFunc
}

// Key is the route's "METHOD resource" key.
func (r Route) Key() string { return r.Method + " " + r.Resource }

// Handler is a Lambda handler for a set of REST routes.
type Handler struct {
	routes map[string]Route
	log    *slog.Logger
	// deprecations is Deprecations (tests set their own).
	deprecations map[string][]Deprecation
	cors         CORS
}

// New builds a handler for routes.
func New(log *slog.Logger, routes ...Route) *Handler {
	h := &Handler{routes: map[string]Route{}, log: log, deprecations: Deprecations, cors: CORS{AllowOrigin: DefaultAllowOrigin}}
	for _, r := range routes {
		h.routes[r.Key()] = r
	}
	return h
}

// Routes lists the handler's route keys (tests compare them to the template).
func (h *Handler) Routes() []string {
	out := make([]string, 0, len(h.routes))
	for k := range h.routes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Request is what a route handler sees.
type Request struct {
	Event     events.APIGatewayProxyRequest
	Principal auth.Principal
	RequestID string
	body      []byte
	maxBody   int
}

// Response is what a route handler returns. Body is marshalled as JSON
// unless RawBody is set.
type Response struct {
	Status  int
	Body    any
	RawBody string
	Headers map[string]string
}

// JSON is a shorthand for a JSON response.
func JSON(status int, body any) Response { return Response{Status: status, Body: body} }

// PathParam returns a path parameter.
func (r *Request) PathParam(name string) string { return r.Event.PathParameters[name] }

// Query returns a query-string parameter.
func (r *Request) Query(name string) string { return r.Event.QueryStringParameters[name] }

// QueryID returns an optional id parameter: "" when absent, invalid_id
// when given empty (?user_id= is not "no user_id").
func (r *Request) QueryID(name string) (string, error) {
	v, ok := r.Event.QueryStringParameters[name]
	if ok && v == "" {
		return "", EmptyID(name)
	}
	return v, nil
}

// EmptyID is the error for an id field given as "".
func EmptyID(field string) error {
	return apierror.New(apierror.InvalidID, "%s must not be empty.", field).WithDetails(map[string]string{"field": field})
}

// Header returns a header, case-insensitively.
func (r *Request) Header(name string) string {
	v, _ := r.LookupHeader(name)
	return v
}

// LookupHeader returns a header, case-insensitively, and whether it was
// sent at all (an empty value is not the same as no header).
func (r *Request) LookupHeader(name string) (string, bool) {
	for k, v := range r.Event.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// IdempotencyKey returns the Idempotency-Key header: "" when it was not
// sent, validation_failed when it was sent but is not a valid key (an
// empty one included).
func (r *Request) IdempotencyKey() (string, error) {
	k, ok := r.LookupHeader(idempotency.Header)
	if !ok {
		return "", nil
	}
	if err := idempotency.ValidateKey(k); err != nil {
		return "", err
	}
	return k, nil
}

// Limit reads ?limit= (0 when absent, meaning the route's default).
func (r *Request) Limit() (int, error) {
	s := r.Query("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, apierror.New(apierror.LimitOutOfRange, "limit must be a positive integer.")
	}
	return n, nil
}

// Body returns the raw body (base64-decoded if API Gateway encoded it).
func (r *Request) Body() []byte { return r.body }

// MediaType is the Content-Type without parameters, lower-cased.
func (r *Request) MediaType() string {
	mt, _, err := mime.ParseMediaType(r.Header("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// DecodeJSON decodes the body strictly into v: Content-Type must be JSON
// (415 otherwise), and duplicate keys, unknown fields, out-of-range numbers
// and malformed JSON are refused with their codes.
func (r *Request) DecodeJSON(v any) error {
	if mt := r.MediaType(); mt != "application/json" {
		return apierror.New(apierror.UnsupportedMediaType, "Content-Type must be application/json.")
	}
	return strictjson.Decode(r.body, v)
}

// Handle is the Lambda entry point.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, _ error) {
	start := time.Now()
	reqID := ev.RequestContext.RequestID
	if reqID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			reqID = lc.AwsRequestID
		}
	}
	key := ev.HTTPMethod + " " + ev.Resource
	var code apierror.Code
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(ctx, "panic", "request_id", reqID, "route", key, "panic", p, "stack", string(debug.Stack()))
			code = apierror.Internal
			resp = errorResponse(apierror.Public(nil), reqID)
		}
		// Every answer, errors and panics too: a browser on another origin
		// reads none it is not allowed to.
		h.cors.headers(resp.Headers)
		attrs := []any{"request_id", reqID, "route", key, "status", resp.StatusCode, "latency_ms", time.Since(start).Milliseconds()}
		if code != "" {
			attrs = append(attrs, "error_code", string(code))
		}
		h.log.InfoContext(ctx, "request", attrs...)
	}()

	res, req, err := h.serve(ctx, ev, key, reqID)
	if err != nil {
		code = apierror.CodeOf(err)
		if code == apierror.Internal {
			h.log.ErrorContext(ctx, "internal error", "request_id", reqID, "route", key, "err", err.Error())
		}
		resp = errorResponse(apierror.Public(err), reqID)
	} else {
		resp = encode(res, reqID)
	}
	// Errors too: a client must hear of a sunset from a failing call as well.
	deprecationHeaders(h.deprecations[key], req, resp.Headers)
	return resp, nil
}

// serve runs the route; req is nil when no route matched.
func (h *Handler) serve(ctx context.Context, ev events.APIGatewayProxyRequest, key, reqID string) (_ Response, req *Request, _ error) {
	route, ok := h.routes[key]
	if !ok {
		return Response{}, nil, apierror.New(apierror.RouteNotFound, "No route matches %s %s.", ev.HTTPMethod, ev.Path)
	}
	req = &Request{Event: ev, RequestID: reqID, maxBody: route.MaxBody}
	if req.maxBody == 0 {
		req.maxBody = DefaultMaxBody
	}
	if !route.Public {
		p, err := auth.FromContextFields(ev.RequestContext.Authorizer)
		if err != nil {
			return Response{}, req, err
		}
		req.Principal = p
		ctx = auth.WithPrincipal(ctx, p)
		// The one rule table (docs/permissions.md): scopes, admin-only routes.
		if err := permissions.CheckRoute(p, key); err != nil {
			return Response{}, req, err
		}
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return Response{}, req, apierror.New(apierror.InvalidRequest, "The request body could not be decoded.")
		}
		body = b
	}
	if len(body) > req.maxBody {
		return Response{}, req, apierror.New(apierror.PayloadTooLarge, "The request body exceeds %d bytes.", req.maxBody)
	}
	req.body = body
	res, err := route.Handler(ctx, req)
	return res, req, err
}

func encode(res Response, reqID string) events.APIGatewayProxyResponse {
	if res.Status == 0 {
		res.Status = http.StatusOK
	}
	headers := map[string]string{"X-Request-Id": reqID}
	for k, v := range res.Headers {
		headers[k] = v
	}
	body := res.RawBody
	if body == "" && res.Body != nil {
		b, err := json.Marshal(res.Body)
		if err != nil {
			return errorResponse(apierror.Public(nil), reqID)
		}
		body = string(b)
	}
	if _, ok := headers["Content-Type"]; !ok && body != "" {
		headers["Content-Type"] = "application/json"
	}
	return events.APIGatewayProxyResponse{StatusCode: res.Status, Headers: headers, Body: body}
}

// ErrorBody is the wire form of every error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner object of ErrorBody.
type ErrorDetail struct {
	Code      apierror.Code `json:"code"`
	Message   string        `json:"message"`
	RequestID string        `json:"request_id"`
	Details   any           `json:"details,omitempty"`
}

// ErrorJSON renders e as the contract's error body.
func ErrorJSON(e *apierror.Error, reqID string) []byte {
	b, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, RequestID: reqID, Details: e.Details}})
	return b
}

func errorResponse(e *apierror.Error, reqID string) events.APIGatewayProxyResponse {
	headers := map[string]string{"Content-Type": "application/json", "X-Request-Id": reqID}
	switch e.Code {
	case apierror.Unauthorized, apierror.InvalidToken:
		headers["WWW-Authenticate"] = `Bearer realm="tokenim"`
	case apierror.InvalidClient:
		headers["WWW-Authenticate"] = `Basic realm="tokenim"`
	}
	if ra := retryAfter(e.Details); ra != "" {
		headers["Retry-After"] = ra
	}
	return events.APIGatewayProxyResponse{StatusCode: apierror.HTTPStatus(e.Code), Headers: headers, Body: string(ErrorJSON(e, reqID))}
}

// retryAfter is the Retry-After header (whole seconds, rounded up) for an
// error whose details carry retry_after_ms (rate_limited; RFC 9110 §10.2.3).
func retryAfter(details any) string {
	d, ok := details.(map[string]any)
	if !ok {
		return ""
	}
	ms, ok := d["retry_after_ms"].(int64)
	if !ok || ms <= 0 {
		return ""
	}
	return strconv.FormatInt((ms+999)/1000, 10)
}
