package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/idtoken"
	"github.com/tokenim/tokenim/shared/signup"
	"github.com/tokenim/tokenim/shared/strictjson"
	"github.com/tokenim/tokenim/shared/users"
)

// Exchange is what the token-exchange grant needs. A zero Exchange (or a
// verifier without an issuer) turns the grant off.
type Exchange struct {
	Verifier *idtoken.Verifier
	Users    *users.Service
	// Mapping names the chat user; it must be the sign-up trigger's, so
	// both paths reach the same account.
	Mapping signup.Mapping
}

// NewHandler builds the token function's routes.
// rec records the audited actions (nil: none).
func NewHandler(a *auth.Service, creds *auth.Credentials, ex Exchange, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	return newHandler(a, creds, ex, rec, log, time.Now)
}

// newHandler is NewHandler with the rate limits' clock.
func newHandler(a *auth.Service, creds *auth.Credentials, ex Exchange, rec *audit.Recorder, log *slog.Logger, now func() time.Time) *httpapi.Handler {
	h := &handler{auth: a, creds: creds, ex: ex, limits: newTokenLimits(now), audit: rec, failures: audit.NewFailures(rec, now)}
	return httpapi.New(log,
		// 16 KB: a Cognito ID token with groups and custom attributes can pass 4 KB.
		httpapi.Route{Method: "POST", Resource: "/v1/auth/token", Public: true, MaxBody: 16 << 10, Handler: h.token},
		httpapi.Route{Method: "POST", Resource: "/v1/users/{user_id}/tokens", Handler: h.userToken},
		httpapi.Route{Method: "POST", Resource: "/v1/credentials", Handler: h.createCredential},
		httpapi.Route{Method: "GET", Resource: "/v1/credentials", Handler: h.listCredentials},
		httpapi.Route{Method: "PATCH", Resource: "/v1/credentials/{key_id}", Handler: h.updateCredential},
		httpapi.Route{Method: "DELETE", Resource: "/v1/credentials/{key_id}", Handler: h.deleteCredential},
	)
}

type handler struct {
	auth   *auth.Service
	creds  *auth.Credentials
	ex     Exchange
	limits tokenLimits
	// audit records credential changes and minted tokens; failures
	// summarises failed client authentication per source address.
	audit    *audit.Recorder
	failures *audit.Failures
}

// RFC 8693 identifiers.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeIDToken        = "urn:ietf:params:oauth:token-type:id_token"
	typeAccessToken    = "urn:ietf:params:oauth:token-type:access_token"
)

// tokenParams are the token request's parameters, from a form or JSON.
type tokenParams struct {
	GrantType          string `json:"grant_type"`
	ClientID           string `json:"client_id"`
	ClientSecret       string `json:"client_secret"`
	Scope              string `json:"scope"`
	SubjectToken       string `json:"subject_token"`
	SubjectTokenType   string `json:"subject_token_type"`
	RequestedTokenType string `json:"requested_token_type"`
}

// token implements RFC 6749 §4.4 and RFC 8693. For client_credentials
// the client authenticates with HTTP Basic (client_secret_basic) or with
// client_id/client_secret in a form or JSON body (client_secret_post).
// For token-exchange the Cognito ID token is the credential.
func (h *handler) token(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.limits.ip(r); err != nil {
		return httpapi.Response{}, err
	}
	var p tokenParams
	switch r.MediaType() {
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(r.Body()))
		if err != nil {
			return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "The form body could not be parsed.")
		}
		for k, vals := range v {
			if len(vals) > 1 {
				return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "Parameter %q is repeated.", k)
			}
		}
		if v.Has("actor_token") {
			return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "Delegation (actor_token) is not supported.")
		}
		p = tokenParams{GrantType: v.Get("grant_type"), ClientID: v.Get("client_id"), ClientSecret: v.Get("client_secret"), Scope: v.Get("scope"),
			SubjectToken: v.Get("subject_token"), SubjectTokenType: v.Get("subject_token_type"), RequestedTokenType: v.Get("requested_token_type")}
	case "application/json":
		if err := strictjson.Decode(r.Body(), &p); err != nil {
			return httpapi.Response{}, err
		}
	default:
		return httpapi.Response{}, apierror.New(apierror.UnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded or application/json.")
	}
	switch p.GrantType {
	case "":
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "grant_type is required.")
	case "client_credentials":
		return h.clientCredentials(ctx, r, p)
	case grantTokenExchange:
		return h.exchange(ctx, r, p)
	}
	return httpapi.Response{}, apierror.New(apierror.UnsupportedGrant, "grant_type must be client_credentials or %s.", grantTokenExchange)
}

func (h *handler) clientCredentials(ctx context.Context, r *httpapi.Request, p tokenParams) (httpapi.Response, error) {
	id, secret := p.ClientID, p.ClientSecret
	if bid, bsec, ok := basicAuth(r.Header("Authorization")); ok {
		if id != "" || secret != "" {
			return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "Use one client authentication method, not two.")
		}
		id, secret = bid, bsec
	}
	if err := h.limits.credential(id); err != nil {
		return httpapi.Response{}, err
	}
	issued, err := h.auth.ClientCredentials(ctx, id, secret, p.Scope)
	if apierror.Is(err, apierror.InvalidClient) {
		h.failures.Failed(ctx, meta(r), "invalid_client")
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	h.audit.Record(ctx, meta(r), audit.Entry{Actor: "credential:" + id, Action: "admin_token.issue", Target: "credential:" + id,
		Changes: map[string]audit.Change{"scope": {After: issued.Scope}}})
	return noStore(http.StatusOK, issued), nil
}

// exchange trades a Cognito ID token for a user token (RFC 8693). The
// user is created if the sign-up trigger has not (yet) done it, so a
// user can chat the moment they sign up; an id that belongs to another
// identity is refused, so a second identity mapping onto it cannot act
// as its user.
func (h *handler) exchange(ctx context.Context, r *httpapi.Request, p tokenParams) (httpapi.Response, error) {
	if !h.ex.Verifier.Enabled() {
		return httpapi.Response{}, apierror.New(apierror.UnsupportedGrant, "Token exchange is not configured on this deployment (no Cognito issuer).")
	}
	switch {
	case p.ClientID != "" || p.ClientSecret != "" || r.Header("Authorization") != "":
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "Token exchange takes no client authentication: the ID token is the credential.")
	case p.SubjectToken == "":
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "subject_token is required.")
	case p.SubjectTokenType == "":
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "subject_token_type is required.")
	case p.SubjectTokenType != typeIDToken:
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "subject_token_type must be %s.", typeIDToken)
	case p.RequestedTokenType != "" && p.RequestedTokenType != typeAccessToken:
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "requested_token_type must be %s.", typeAccessToken)
	}
	id, err := h.ex.Verifier.Verify(ctx, p.SubjectToken)
	if err != nil {
		return httpapi.Response{}, err
	}
	in, _, err := h.ex.Mapping.Account(signup.CognitoSource(id.UserPoolID(), id.Subject), id.Attributes)
	if err != nil {
		return httpapi.Response{}, apierror.New(apierror.InvalidGrant, "The ID token names no usable chat user: %s", apierror.Public(err).Message)
	}
	u, _, err := h.ex.Users.Ensure(ctx, in)
	if apierror.Is(err, apierror.UserExists) {
		return httpapi.Response{}, apierror.New(apierror.Forbidden, "User %q belongs to another identity.", in.UserID)
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	issued, err := h.auth.IssueForUser(u.UserID, u.Gen)
	if err != nil {
		return httpapi.Response{}, fmt.Errorf("token: exchange: %w", err)
	}
	h.audit.Record(ctx, meta(r), audit.Entry{Actor: "user:" + u.UserID, Action: "user_token.exchange", Target: "user:" + u.UserID})
	return noStore(http.StatusOK, struct {
		auth.Issued
		IssuedTokenType string `json:"issued_token_type"`
		UserID          string `json:"user_id"`
	}{issued, typeAccessToken, u.UserID}), nil
}

// noStore is a token response: RFC 6749 §5.1 says it must not be cached.
func noStore(status int, body any) httpapi.Response {
	return httpapi.Response{Status: status, Body: body, Headers: map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}}
}

func basicAuth(h string) (string, string, bool) {
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return "", "", false
	}
	id, sec, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	// RFC 6749 §2.3.1: both parts are form-urlencoded.
	id, err1 := url.QueryUnescape(id)
	sec, err2 := url.QueryUnescape(sec)
	return id, sec, err1 == nil && err2 == nil
}

func (h *handler) userToken(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	id := r.PathParam("user_id")
	if err := r.Principal.Admin(); err != nil {
		return httpapi.Response{}, err
	}
	if err := users.ValidateID("user_id", id); err != nil {
		return httpapi.Response{}, err
	}
	if err := h.limits.minting(r.Principal.KeyID); err != nil {
		return httpapi.Response{}, err
	}
	var b struct {
		TTLSeconds int64 `json:"ttl_seconds"`
	}
	if len(r.Body()) > 0 {
		if err := r.DecodeJSON(&b); err != nil {
			return httpapi.Response{}, err
		}
	}
	issued, err := h.auth.IssueUserToken(ctx, r.Principal, id, time.Duration(b.TTLSeconds)*time.Second)
	if err != nil {
		return httpapi.Response{}, err
	}
	h.audit.Record(ctx, meta(r), audit.Entry{Actor: r.Principal.Actor(), Action: "user_token.issue", Target: "user:" + id,
		Changes: map[string]audit.Change{"expires_in": {After: issued.ExpiresIn}}})
	return httpapi.Response{Status: http.StatusCreated, Body: struct {
		UserID string `json:"user_id"`
		auth.Issued
	}{id, issued}, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}

// meta is where a request came from, for the audit log.
func meta(r *httpapi.Request) audit.Meta {
	id := r.Event.RequestContext.Identity
	return audit.Meta{RequestID: r.RequestID, SourceIP: id.SourceIP, UserAgent: id.UserAgent}
}
