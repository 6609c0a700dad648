package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/strictjson"
	"github.com/tokenim/tokenim/shared/users"
)

// NewHandler builds the token function's routes.
func NewHandler(a *auth.Service, log *slog.Logger) *httpapi.Handler {
	h := &handler{auth: a}
	return httpapi.New(log,
		httpapi.Route{Method: "POST", Resource: "/v1/auth/token", Public: true, MaxBody: 4 << 10, Handler: h.token},
		httpapi.Route{Method: "POST", Resource: "/v1/users/{user_id}/tokens", Handler: h.userToken},
		httpapi.Route{Method: "POST", Resource: "/v1/credentials", Handler: h.createCredential},
	)
}

type handler struct{ auth *auth.Service }

// token implements RFC 6749 §4.4. The client authenticates with HTTP Basic
// (client_secret_basic) or with client_id/client_secret in a form or JSON
// body (client_secret_post).
func (h *handler) token(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var grant, id, secret string
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
		grant, id, secret = v.Get("grant_type"), v.Get("client_id"), v.Get("client_secret")
	case "application/json":
		var b struct {
			GrantType    string `json:"grant_type"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Scope        string `json:"scope"`
		}
		if err := strictjson.Decode(r.Body(), &b); err != nil {
			return httpapi.Response{}, err
		}
		grant, id, secret = b.GrantType, b.ClientID, b.ClientSecret
	default:
		return httpapi.Response{}, apierror.New(apierror.UnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded or application/json.")
	}
	if bid, bsec, ok := basicAuth(r.Header("Authorization")); ok {
		if id != "" || secret != "" {
			return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "Use one client authentication method, not two.")
		}
		id, secret = bid, bsec
	}
	if grant == "" {
		return httpapi.Response{}, apierror.New(apierror.InvalidRequest, "grant_type is required.")
	}
	if grant != "client_credentials" {
		return httpapi.Response{}, apierror.New(apierror.UnsupportedGrant, "Only grant_type=client_credentials is supported.")
	}
	issued, err := h.auth.ClientCredentials(ctx, id, secret)
	if err != nil {
		return httpapi.Response{}, err
	}
	// RFC 6749 §5.1: the token response must not be cached.
	return httpapi.Response{Status: http.StatusOK, Body: issued, Headers: map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}}, nil
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
	return httpapi.Response{Status: http.StatusCreated, Body: struct {
		UserID string `json:"user_id"`
		auth.Issued
	}{id, issued}, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}

func (h *handler) createCredential(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Principal.Admin(); err != nil {
		return httpapi.Response{}, err
	}
	var b struct {
		Name string `json:"name"`
	}
	if len(r.Body()) > 0 {
		if err := r.DecodeJSON(&b); err != nil {
			return httpapi.Response{}, err
		}
	}
	c, secret, err := h.auth.CreateCredential(ctx, b.Name)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusCreated, Body: map[string]any{
		"key_id": c.KeyID, "secret": secret, "name": c.Name, "created_at": time.UnixMilli(c.CreatedAt).UTC(),
	}, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}
