package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
)

// Handler authorizes REST requests (Authorization: Bearer <token>) and
// WebSocket handshakes (?token=<token>, or the Sec-WebSocket-Protocol
// header, since browsers cannot set Authorization on a WebSocket).
type Handler struct {
	auth     *auth.Service
	log      *slog.Logger
	failures *audit.Failures // repeated failures per source address, summarised in the audit log
}

// NewHandler builds the handler.
func NewHandler(a *auth.Service, log *slog.Logger) *Handler { return &Handler{auth: a, log: log} }

// WithFailures records repeated failed authentication (audit.Failures).
func (h *Handler) WithFailures(f *audit.Failures) *Handler {
	h.failures = f
	return h
}

// errUnauthorized is the exact error string API Gateway turns into a 401
// (the UNAUTHORIZED gateway response); any other error would be a 500.
var errUnauthorized = errors.New("Unauthorized")

// Handle returns an Allow policy with the principal as context, or refuses.
// Caching is off in the template (a deleted user's token must stop at
// once), so the policy names just this method.
//
// A banned user's REST request is allowed with the ban in its context
// (handlers answer 403 banned); its WebSocket handshake is refused (401).
//
// A request without a token is "Unauthorized" (401 unauthorized). A REST
// request with a token that is not valid (malformed, expired, forged,
// revoked, its user deleted) gets a Deny policy instead, which API Gateway
// answers with the ACCESS_DENIED gateway response: the template makes that
// 401 invalid_token with WWW-Authenticate: Bearer error="invalid_token"
// (RFC 6750), so a client can tell "refresh your token" from "send one".
// WebSocket APIs have no gateway responses (a Deny would be a bare 403), so
// $connect keeps "Unauthorized" (401) for both, as docs/websocket.md says.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	token := bearer(ev)
	p, err := h.auth.Authenticate(ctx, token)
	if apierror.Is(err, apierror.Banned) && !isWebSocketConnect(ev.MethodArn) {
		// Through, with the ban in the context: the handler answers 403
		// banned with its reason (a Deny could only be the gateway's 401).
		h.log.InfoContext(ctx, "banned", "request_id", ev.RequestContext.RequestID, "user_id", p.UserID)
		return policy(principalID(p), "Allow", ev.MethodArn, p.ContextFields()), nil
	}
	if err != nil {
		code := apierror.CodeOf(err)
		if code == apierror.Internal {
			h.log.ErrorContext(ctx, "authorizer error", "request_id", ev.RequestContext.RequestID, "err", err.Error())
			return events.APIGatewayCustomAuthorizerResponse{}, err
		}
		h.log.InfoContext(ctx, "denied", "request_id", ev.RequestContext.RequestID, "code", string(code))
		if code == apierror.InvalidToken {
			id := ev.RequestContext.Identity
			h.failures.Failed(ctx, audit.Meta{RequestID: ev.RequestContext.RequestID, SourceIP: id.SourceIP, UserAgent: headerValue(ev.Headers, "User-Agent")}, string(code))
		}
		if code == apierror.InvalidToken && !isWebSocketConnect(ev.MethodArn) {
			return policy(anonymous, "Deny", ev.MethodArn, nil), nil
		}
		return events.APIGatewayCustomAuthorizerResponse{}, errUnauthorized
	}
	return policy(principalID(p), "Allow", ev.MethodArn, p.ContextFields()), nil
}

// anonymous is the principal of a Deny: API Gateway requires one.
const anonymous = "anonymous"

func policy(principal, effect, methodArn string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{methodArn},
			}},
		},
		Context: context,
	}
}

// isWebSocketConnect tells a WebSocket $connect authorization
// (arn:...:<api>/<stage>/$connect) from a REST one (.../<stage>/<METHOD>/<path>).
func isWebSocketConnect(methodArn string) bool { return strings.HasSuffix(methodArn, "/$connect") }

func principalID(p auth.Principal) string {
	if p.Kind == auth.KindAdmin {
		return "admin:" + p.KeyID
	}
	return "user:" + p.UserID
}

func bearer(ev events.APIGatewayCustomAuthorizerRequestTypeRequest) string {
	for k, v := range ev.Headers {
		// "Bearer" alone (HTTP clients trim "Bearer ") carries no token.
		if v = strings.TrimSpace(v); strings.EqualFold(k, "Authorization") && v != "" && !strings.EqualFold(v, "bearer") {
			return v
		}
	}
	if t := ev.QueryStringParameters["token"]; t != "" {
		return t
	}
	// Sec-WebSocket-Protocol: "tokenim, <token>" (a subprotocol list).
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "Sec-WebSocket-Protocol") {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" && part != "tokenim" {
					return part
				}
			}
		}
	}
	return ""
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
