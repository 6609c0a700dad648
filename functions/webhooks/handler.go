package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/webhooks"
)

// NewHandler builds the webhook routes. Who may call each (admin tokens
// with webhooks:manage) is the rule table's, checked by httpapi first.
// rec records every change (nil: none); secrets never enter it.
func NewHandler(s *webhooks.Service, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	h := &handler{svc: s, audit: rec}
	return httpapi.New(log,
		httpapi.Route{Method: "POST", Resource: "/v1/webhooks", Handler: h.create},
		httpapi.Route{Method: "GET", Resource: "/v1/webhooks", Handler: h.list},
		httpapi.Route{Method: "GET", Resource: "/v1/webhooks/{webhook_id}", Handler: h.get},
		httpapi.Route{Method: "PATCH", Resource: "/v1/webhooks/{webhook_id}", Handler: h.update},
		httpapi.Route{Method: "DELETE", Resource: "/v1/webhooks/{webhook_id}", Handler: h.delete},
		httpapi.Route{Method: "POST", Resource: "/v1/webhooks/{webhook_id}/rotate", Handler: h.rotate},
		httpapi.Route{Method: "GET", Resource: "/v1/webhooks/{webhook_id}/deliveries", Handler: h.deliveries},
		httpapi.Route{Method: "POST", Resource: "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", Handler: h.retry},
		httpapi.Route{Method: "POST", Resource: "/v1/webhooks/{webhook_id}/replay", Handler: h.replay},
	)
}

type handler struct {
	svc   *webhooks.Service
	audit *audit.Recorder
}

// record writes the audit entry of a change r made to endpoint id.
func (h *handler) record(ctx context.Context, r *httpapi.Request, action, id string, changes map[string]audit.Change) {
	who := r.Event.RequestContext.Identity
	h.audit.Record(ctx, audit.Meta{RequestID: r.RequestID, SourceIP: who.SourceIP, UserAgent: who.UserAgent},
		audit.Entry{Actor: r.Principal.Actor(), Action: action, Target: "webhook:" + id, Changes: changes})
}

// endpointView is an endpoint as clients see it: never its secrets.
type endpointView struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Description string     `json:"description"`
	Types       []string   `json:"types"` // []: every type
	Enabled     bool       `json:"enabled"`
	DeadStreak  int        `json:"dead_streak"`
	PrevExpires *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	// Secret is set only in the answers of create and rotate.
	Secret string `json:"secret,omitempty"`
}

func viewEndpoint(e webhooks.Endpoint, now time.Time) endpointView {
	v := endpointView{ID: e.ID, URL: e.URL, Description: e.Description, Types: []string{}, Enabled: !e.Disabled,
		DeadStreak: e.DeadStreak, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	for _, t := range e.Types {
		v.Types = append(v.Types, string(t))
	}
	if e.Keys.Previous != "" && now.Before(e.Keys.PreviousUntil) {
		until := e.Keys.PreviousUntil
		v.PrevExpires = &until
	}
	return v
}

type attemptView struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	OK         bool      `json:"ok"`
}

type deliveryView struct {
	ID            string        `json:"id"`
	EventID       string        `json:"event_id"`
	Type          string        `json:"type"`
	EventTime     time.Time     `json:"event_time"`
	State         string        `json:"state"`
	Attempts      []attemptView `json:"attempts"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
}

func viewDelivery(d webhooks.Delivery) deliveryView {
	v := deliveryView{ID: d.ID, EventID: d.EventID, Type: string(d.Type), EventTime: d.EventTime, State: string(d.State),
		Attempts: []attemptView{}, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	for _, o := range d.Attempts {
		v.Attempts = append(v.Attempts, attemptView{At: o.At.UTC(), Status: o.Status, Error: o.Error, DurationMS: o.Duration.Milliseconds(), OK: o.OK})
	}
	if d.State == webhooks.StatePending && !d.NextAt.IsZero() {
		next := d.NextAt
		v.NextAttemptAt = &next
	}
	return v
}

func typeNames(e webhooks.Endpoint) []string {
	out := []string{}
	for _, t := range e.Types {
		out = append(out, string(t))
	}
	return out
}

func (h *handler) create(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		URL         string   `json:"url"`
		Types       []string `json:"types"`
		Secret      string   `json:"secret"`
		Description string   `json:"description"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	e, secret, err := h.svc.Create(ctx, webhooks.CreateInput{URL: b.URL, Types: b.Types, Secret: b.Secret, Description: b.Description})
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "webhook.create", e.ID, map[string]audit.Change{"url": {After: e.URL}, "types": {After: typeNames(e)}})
	v := viewEndpoint(e, time.Now())
	v.Secret = secret
	return httpapi.JSON(http.StatusCreated, v), nil
}

func (h *handler) list(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	es, err := h.svc.List(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	out := struct {
		Webhooks []endpointView `json:"webhooks"`
	}{Webhooks: []endpointView{}}
	now := time.Now()
	for _, e := range es {
		out.Webhooks = append(out.Webhooks, viewEndpoint(e, now))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *handler) get(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	e, err := h.svc.Get(ctx, r.PathParam("webhook_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, viewEndpoint(e, time.Now())), nil
}

func (h *handler) update(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		URL         *string   `json:"url"`
		Types       *[]string `json:"types"`
		Enabled     *bool     `json:"enabled"`
		Description *string   `json:"description"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	if b.Types != nil && *b.Types == nil {
		empty := []string{}
		b.Types = &empty
	}
	e, err := h.svc.Update(ctx, r.PathParam("webhook_id"), webhooks.UpdateInput{URL: b.URL, Types: b.Types, Enabled: b.Enabled, Description: b.Description})
	if err != nil {
		return httpapi.Response{}, err
	}
	changes := map[string]audit.Change{}
	if b.URL != nil {
		changes["url"] = audit.Change{After: e.URL}
	}
	if b.Types != nil {
		changes["types"] = audit.Change{After: typeNames(e)}
	}
	if b.Enabled != nil {
		changes["enabled"] = audit.Change{After: !e.Disabled}
	}
	if b.Description != nil {
		changes["description"] = audit.Change{After: e.Description}
	}
	h.record(ctx, r, "webhook.update", e.ID, changes)
	return httpapi.JSON(http.StatusOK, viewEndpoint(e, time.Now())), nil
}

func (h *handler) delete(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.svc.Delete(ctx, r.PathParam("webhook_id")); err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "webhook.delete", r.PathParam("webhook_id"), nil)
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (h *handler) rotate(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Secret string `json:"secret"`
	}
	if len(r.Body()) > 0 { // the body is optional: no body, a generated secret
		if err := r.DecodeJSON(&b); err != nil {
			return httpapi.Response{}, err
		}
	}
	e, secret, err := h.svc.Rotate(ctx, r.PathParam("webhook_id"), b.Secret)
	if err != nil {
		return httpapi.Response{}, err
	}
	// The secrets stay out of the log: only that it rotated, and until when the old one signs.
	h.record(ctx, r, "webhook.rotate", e.ID, map[string]audit.Change{"previous_secret_expires_at": {After: e.Keys.PreviousUntil}})
	v := viewEndpoint(e, time.Now())
	v.Secret = secret
	return httpapi.JSON(http.StatusOK, v), nil
}

func (h *handler) deliveries(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	ds, next, err := h.svc.Deliveries(ctx, r.PathParam("webhook_id"), limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	out := struct {
		Deliveries []deliveryView `json:"deliveries"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{Deliveries: []deliveryView{}, NextCursor: next}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, viewDelivery(d))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *handler) retry(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	d, err := h.svc.Retry(ctx, r.PathParam("webhook_id"), r.PathParam("delivery_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "webhook.retry", d.EndpointID, map[string]audit.Change{"delivery_id": {After: d.ID}})
	return httpapi.JSON(http.StatusAccepted, viewDelivery(d)), nil
}

func (h *handler) replay(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	from, errFrom := time.Parse(time.RFC3339Nano, b.From)
	to, errTo := time.Parse(time.RFC3339Nano, b.To)
	if errFrom != nil || errTo != nil {
		return httpapi.Response{}, apierror.New(apierror.InvalidReplayRange, "from and to are required RFC 3339 times.")
	}
	res, err := h.svc.Replay(ctx, r.PathParam("webhook_id"), from, to)
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "webhook.replay", r.PathParam("webhook_id"), map[string]audit.Change{"from": {After: from}, "to": {After: to}, "replayed": {After: res.Replayed}})
	out := struct {
		Replayed int        `json:"replayed"`
		NextFrom *time.Time `json:"next_from,omitempty"`
	}{Replayed: res.Replayed}
	if !res.NextFrom.IsZero() {
		out.NextFrom = &res.NextFrom
	}
	return httpapi.JSON(http.StatusAccepted, out), nil
}
