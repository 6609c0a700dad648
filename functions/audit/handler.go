package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/httpapi"
)

// NewHandler builds the audit function's route.
func NewHandler(s *audit.Service, log *slog.Logger) *httpapi.Handler {
	h := &handler{svc: s}
	return httpapi.New(log, httpapi.Route{Method: "GET", Resource: "/v1/audit", Handler: h.list})
}

type handler struct{ svc *audit.Service }

func timeParam(r *httpapi.Request, name string) (*time.Time, error) {
	v := r.Query(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, apierror.New(apierror.ValidationFailed, "%s must be an RFC 3339 time.", name).WithDetails(map[string]any{"field": name})
	}
	return &t, nil
}

func (h *handler) list(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	since, err := timeParam(r, "since")
	if err != nil {
		return httpapi.Response{}, err
	}
	until, err := timeParam(r, "until")
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.svc.List(ctx, r.Principal, audit.ListInput{Actor: r.Query("actor"), Target: r.Query("target"), Action: r.Query("action"),
		Since: since, Until: until, Limit: limit, Cursor: r.Query("cursor")})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: page, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}
