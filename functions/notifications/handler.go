package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audithttp"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/push"
)

// Routes (docs/openapi.yaml, docs/push.md "Broadcasts").
const (
	submitRoute = "/v1/notifications"
	getRoute    = "/v1/notifications/{notification_id}"
	inboxRoute  = "/v1/users/{user_id}/notifications"
	readRoute   = "/v1/users/{user_id}/notifications/read"
)

// NewHandler builds the notifications function's routes. rec records
// each broadcast submitted (nil: none).
func NewHandler(b *push.Broadcasts, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	h := &handler{b: b, audit: rec}
	return httpapi.New(log,
		httpapi.Route{Method: "POST", Resource: submitRoute, Handler: h.submit},
		httpapi.Route{Method: "GET", Resource: getRoute, Handler: h.get},
		httpapi.Route{Method: "GET", Resource: inboxRoute, Handler: h.inbox},
		httpapi.Route{Method: "POST", Resource: readRoute, Handler: h.markRead},
	)
}

type handler struct {
	b     *push.Broadcasts
	audit *audit.Recorder
}

type submitBody struct {
	Title    string            `json:"title"`
	Body     string            `json:"body"`
	Data     map[string]string `json:"data"`
	Link     string            `json:"link"`
	Audience push.Audience     `json:"audience"`
}

func (h *handler) submit(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Principal.Admin(); err != nil {
		return httpapi.Response{}, err
	}
	var b submitBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	key, err := r.IdempotencyKey()
	if err != nil {
		return httpapi.Response{}, err
	}
	out, replayed, err := h.b.Submit(ctx, r.Principal, push.Broadcast{Title: b.Title, Body: b.Body, Data: b.Data, Link: b.Link, Audience: b.Audience}, key)
	if err != nil {
		return httpapi.Response{}, err
	}
	headers := map[string]string{"Location": "/v1/notifications/" + out.ID}
	if replayed {
		headers["Idempotent-Replayed"] = "true"
	} else {
		audithttp.Record(ctx, h.audit, r, "notification.send", "notification:"+out.ID, broadcastChanges(b))
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: out, Headers: headers}, nil
}

func (h *handler) get(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	b, err := h.b.Get(ctx, r.Principal, r.PathParam("notification_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, b), nil
}

func (h *handler) inbox(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.b.Inbox(ctx, r.Principal, r.PathParam("user_id"), limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h *handler) markRead(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var body push.MarkReadRequest
	if err := r.DecodeJSON(&body); err != nil {
		return httpapi.Response{}, err
	}
	out, err := h.b.MarkRead(ctx, r.Principal, r.PathParam("user_id"), body)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// broadcastChanges are a broadcast's audited fields: its title and whom
// it goes to (a user list as its length; the text and data stay out of
// the log, as a message's do).
func broadcastChanges(b submitBody) map[string]audit.Change {
	aud := map[string]any{}
	switch {
	case b.Audience.All:
		aud["all"] = true
	case b.Audience.GroupID != "":
		aud["group_id"] = b.Audience.GroupID
	default:
		aud["user_ids"] = len(b.Audience.UserIDs)
	}
	return map[string]audit.Change{"title": {After: b.Title}, "audience": {After: aud}}
}
