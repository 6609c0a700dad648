package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audithttp"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/strictjson"
)

// Routes (docs/openapi.yaml, docs/push.md).
const (
	deviceRoute   = "/v1/users/{user_id}/devices/{device_id}"
	devicesRoute  = "/v1/users/{user_id}/devices"
	settingsRoute = "/v1/users/{user_id}/push-settings"
	convRoute     = "/v1/users/{user_id}/push-settings/conversations/{conversation_id}"
	webRoute      = "/v1/push/web"
)

// NewHandler builds the devices function's routes: a user's push devices
// and push settings.
//
// vapidPublicKey is the Web Push applicationServerKey ("": Web Push is not
// set up). rec records the changes admin tokens make (nil: none); a
// user's changes to its own devices and settings are not audited, as its
// own profile changes are not.
func NewHandler(d *push.Devices, s *push.Settings, vapidPublicKey string, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	h := &handler{devices: d, settings: s, vapid: vapidPublicKey, audit: rec}
	return httpapi.New(log,
		httpapi.Route{Method: "PUT", Resource: deviceRoute, Handler: h.put},
		httpapi.Route{Method: "DELETE", Resource: deviceRoute, Handler: h.delete},
		httpapi.Route{Method: "GET", Resource: devicesRoute, Handler: h.list},
		httpapi.Route{Method: "GET", Resource: settingsRoute, Handler: h.getSettings},
		httpapi.Route{Method: "PUT", Resource: settingsRoute, Handler: h.putSettings},
		httpapi.Route{Method: "GET", Resource: convRoute, Handler: h.getConv},
		httpapi.Route{Method: "PUT", Resource: convRoute, Handler: h.putConv},
		httpapi.Route{Method: "GET", Resource: webRoute, Handler: h.web},
	)
}

type handler struct {
	devices  *push.Devices
	settings *push.Settings
	vapid    string
	audit    *audit.Recorder
}

// record audits an admin token's change to a user's devices or push
// settings. Device tokens and subscriptions never enter the log.
func (h *handler) record(ctx context.Context, r *httpapi.Request, action string, changes map[string]audit.Change) {
	if r.Principal.IsAdmin() {
		audithttp.Record(ctx, h.audit, r, action, "user:"+r.PathParam("user_id"), changes)
	}
}

// webConfig is what a browser needs to subscribe: the VAPID public key
// (pushManager.subscribe's applicationServerKey).
type webConfig struct {
	VapidPublicKey string `json:"vapid_public_key"`
}

// web serves the Web Push configuration to any token: the key is public.
func (h *handler) web(_ context.Context, _ *httpapi.Request) (httpapi.Response, error) {
	if h.vapid == "" {
		return httpapi.Response{}, apierror.New(apierror.NotFound, "Web Push is not set up on this deployment.")
	}
	return httpapi.JSON(http.StatusOK, webConfig{VapidPublicKey: h.vapid}), nil
}

type deviceBody struct {
	Platform     push.Platform      `json:"platform"`
	Token        string             `json:"token"`
	Subscription *push.Subscription `json:"subscription"`
	Locale       string             `json:"locale"`
	AppVersion   string             `json:"app_version"`
}

func (h *handler) put(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b deviceBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	user, id := r.PathParam("user_id"), r.PathParam("device_id")
	d, created, err := h.devices.Register(ctx, r.Principal, user, id, push.Registration{Platform: b.Platform, Token: b.Token,
		Subscription: b.Subscription, Locale: b.Locale, AppVersion: b.AppVersion})
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "device.register", map[string]audit.Change{"device": {After: id}, "platform": {After: b.Platform}})
	if created {
		return httpapi.Response{Status: http.StatusCreated, Body: d.View(),
			Headers: map[string]string{"Location": "/v1/users/" + user + "/devices/" + id}}, nil
	}
	return httpapi.JSON(http.StatusOK, d.View()), nil
}

func (h *handler) delete(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.devices.Delete(ctx, r.Principal, r.PathParam("user_id"), r.PathParam("device_id")); err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "device.delete", map[string]audit.Change{"device": {Before: r.PathParam("device_id")}})
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

type deviceList struct {
	Devices []push.DeviceView `json:"devices"`
}

func (h *handler) list(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	ds, err := h.devices.List(ctx, r.Principal, r.PathParam("user_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	out := deviceList{Devices: make([]push.DeviceView, 0, len(ds))}
	for _, d := range ds {
		out.Devices = append(out.Devices, d.View())
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *handler) getSettings(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	p, err := h.settings.Get(ctx, r.Principal, r.PathParam("user_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// settingsBody is a full replacement: preview absent is true, dnd absent
// or null is off.
type settingsBody struct {
	Preview *bool                          `json:"preview"`
	DND     strictjson.Optional[*push.DND] `json:"dnd"`
}

func (h *handler) putSettings(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b settingsBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	p := push.DefaultPrefs()
	if b.Preview != nil {
		p.Preview = *b.Preview
	}
	p.DND = b.DND.Value // absent or null: off
	out, err := h.settings.Put(ctx, r.Principal, r.PathParam("user_id"), p)
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "push_settings.set", map[string]audit.Change{"preview": {After: out.Preview}, "dnd": {After: out.DND}})
	return httpapi.JSON(http.StatusOK, out), nil
}

type convBody struct {
	Level push.Level                      `json:"level"`
	Until strictjson.Optional[*time.Time] `json:"until"`
}

func (h *handler) getConv(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	c, err := h.settings.GetConversation(ctx, r.Principal, r.PathParam("user_id"), r.PathParam("conversation_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, c), nil
}

func (h *handler) putConv(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b convBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	c, err := h.settings.PutConversation(ctx, r.Principal, r.PathParam("user_id"), r.PathParam("conversation_id"), push.ConvPref{Level: b.Level, Until: b.Until.Value})
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "push_settings.conversation_set", map[string]audit.Change{"conversation": {After: r.PathParam("conversation_id")},
		"level": {After: b.Level}, "until": {After: b.Until.Value}})
	return httpapi.JSON(http.StatusOK, c), nil
}
