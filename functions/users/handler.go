package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audithttp"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/strictjson"
	"github.com/tokenim/tokenim/shared/users"
)

// NewHandler builds the users function's routes. rec records what admin
// tokens change and every deletion (nil: nothing).
func NewHandler(s *users.Service, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	h := &handler{users: s, audit: rec}
	return httpapi.New(log,
		httpapi.Route{Method: "POST", Resource: "/v1/users", Handler: h.create},
		httpapi.Route{Method: "GET", Resource: "/v1/users", Handler: h.list},
		httpapi.Route{Method: "GET", Resource: "/v1/users/{user_id}", Handler: h.get},
		httpapi.Route{Method: "PATCH", Resource: "/v1/users/{user_id}", Handler: h.update},
		httpapi.Route{Method: "PUT", Resource: "/v1/users/{user_id}", Handler: h.put},
		httpapi.Route{Method: "DELETE", Resource: "/v1/users/{user_id}", Handler: h.delete},
	)
}

type handler struct {
	users *users.Service
	audit *audit.Recorder
}

// Audited actions (docs/permissions.md, "Audit log"): an admin token's
// create, update and upsert, and every deletion (by the user too).
// Reads, replays and a user's change to its own profile are not.
const (
	actionCreate = "user.create"
	actionUpdate = "user.update"
	actionDelete = "user.delete"
)

func (h *handler) record(ctx context.Context, r *httpapi.Request, action, id string, changes map[string]audit.Change) {
	audithttp.Record(ctx, h.audit, r, action, "user:"+id, changes)
}

// profileChanges are a new user's profile fields that are set.
func profileChanges(p users.Profile) map[string]audit.Change {
	var patch users.Patch
	if p.Nickname != "" {
		patch.Nickname = &p.Nickname
	}
	if p.AvatarURL != "" {
		patch.AvatarURL = &p.AvatarURL
	}
	if len(p.Metadata) > 0 {
		patch.Metadata = &p.Metadata
	}
	return patchChanges(patch, nil)
}

// patchChanges are the fields a patch sets: their values before (from
// the user as read before the write; none for a new user) and after.
func patchChanges(p users.Patch, before *users.User) map[string]audit.Change {
	c := map[string]audit.Change{}
	change := func(field string, set bool, after, old any) {
		if !set {
			return
		}
		ch := audit.Change{After: after}
		if before != nil {
			ch.Before = old
		}
		c[field] = ch
	}
	var b users.User
	if before != nil {
		b = *before
	}
	change("nickname", p.Nickname != nil, deref(p.Nickname), b.Nickname)
	change("avatar_url", p.AvatarURL != nil, deref(p.AvatarURL), b.AvatarURL)
	meta := map[string]string{}
	if b.Metadata != nil {
		meta = b.Metadata
	}
	change("metadata", p.Metadata != nil, deref(p.Metadata), meta)
	return c
}

func deref[T any](v *T) T {
	var z T
	if v == nil {
		return z
	}
	return *v
}

// prior reads the user an admin-token change is about to change, for the
// audit entry's before values (nil: no such user yet). One GetItem, for
// audited changes only; a change racing it may make "before" stale
// (docs/permissions.md, "Audit log").
func (h *handler) prior(ctx context.Context, r *httpapi.Request, id string) (*users.User, error) {
	u, err := h.users.Get(ctx, r.Principal, id)
	if apierror.CodeOf(err) == apierror.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

type createBody struct {
	UserID    string            `json:"user_id"`
	Nickname  string            `json:"nickname"`
	AvatarURL string            `json:"avatar_url"`
	Metadata  map[string]string `json:"metadata"`
}

func (h *handler) create(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Principal.Admin(); err != nil {
		return httpapi.Response{}, err
	}
	var b createBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	key, err := r.IdempotencyKey()
	if err != nil {
		return httpapi.Response{}, err
	}
	u, created, err := h.users.Create(ctx, r.Principal, users.CreateInput{UserID: b.UserID,
		Profile: users.Profile{Nickname: b.Nickname, AvatarURL: b.AvatarURL, Metadata: b.Metadata}}, key)
	if err != nil {
		return httpapi.Response{}, err
	}
	headers := map[string]string{"Location": "/v1/users/" + u.UserID}
	if !created {
		headers["Idempotent-Replayed"] = "true"
	} else {
		h.record(ctx, r, actionCreate, u.UserID, profileChanges(users.Profile{Nickname: u.Nickname, AvatarURL: u.AvatarURL, Metadata: u.Metadata}))
	}
	return httpapi.Response{Status: http.StatusCreated, Body: u, Headers: headers}, nil
}

func (h *handler) get(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	u, err := h.users.Get(ctx, r.Principal, r.PathParam("user_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, u), nil
}

// updateBody lists the mutable fields and, as raw JSON, the immutable ones
// so that a client trying to change them hears immutable_field rather than
// unknown_field.
type updateBody struct {
	Nickname  strictjson.Optional[string]            `json:"nickname"`
	AvatarURL strictjson.Optional[string]            `json:"avatar_url"`
	Metadata  strictjson.Optional[map[string]string] `json:"metadata"`
	UserID    json.RawMessage                        `json:"user_id"`
	CreatedAt json.RawMessage                        `json:"created_at"`
	UpdatedAt json.RawMessage                        `json:"updated_at"`
}

func (h *handler) update(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	id := r.PathParam("user_id")
	if err := users.ValidateID("user_id", id); err != nil {
		return httpapi.Response{}, err
	}
	if err := r.Principal.SelfOrAdmin(id); err != nil {
		return httpapi.Response{}, err
	}
	p, err := decodePatch(r, "")
	if err != nil {
		return httpapi.Response{}, err
	}
	var before *users.User
	if r.Principal.IsAdmin() {
		if before, err = h.prior(ctx, r, id); err != nil {
			return httpapi.Response{}, err
		}
	}
	u, err := h.users.Update(ctx, r.Principal, id, p)
	if err != nil {
		return httpapi.Response{}, err
	}
	if r.Principal.IsAdmin() {
		h.record(ctx, r, actionUpdate, id, patchChanges(p, before))
	}
	return httpapi.JSON(http.StatusOK, u), nil
}

// put is the idempotent upsert a sign-up backend calls on every attempt:
// create the user if absent, else update the fields the body sets.
func (h *handler) put(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	id := r.PathParam("user_id")
	if err := users.ValidateID("user_id", id); err != nil {
		return httpapi.Response{}, err
	}
	if err := r.Principal.Admin(); err != nil {
		return httpapi.Response{}, err
	}
	p, err := decodePatch(r, id)
	if err != nil {
		return httpapi.Response{}, err
	}
	key, err := r.IdempotencyKey()
	if err != nil {
		return httpapi.Response{}, err
	}
	before, err := h.prior(ctx, r, id)
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.users.Upsert(ctx, r.Principal, id, p, key)
	if err != nil {
		return httpapi.Response{}, err
	}
	switch {
	case res.Replayed:
	case res.Created:
		h.record(ctx, r, actionCreate, id, patchChanges(p, nil))
	default:
		h.record(ctx, r, actionUpdate, id, patchChanges(p, before))
	}
	resp := httpapi.JSON(http.StatusOK, res.User)
	if res.Created {
		resp.Status = http.StatusCreated
		resp.Headers = map[string]string{"Location": "/v1/users/" + id}
	}
	if res.Replayed {
		if resp.Headers == nil {
			resp.Headers = map[string]string{}
		}
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}

// decodePatch reads a PATCH or PUT body. The body may repeat the path's
// user id (PUT only: pathID != ""); any other id, and the timestamps, are
// immutable_field.
func decodePatch(r *httpapi.Request, pathID string) (users.Patch, error) {
	var b updateBody
	if err := r.DecodeJSON(&b); err != nil {
		return users.Patch{}, err
	}
	if b.UserID != nil && pathID != "" {
		var same string
		if json.Unmarshal(b.UserID, &same) == nil && same == pathID {
			b.UserID = nil
		}
	}
	for name, raw := range map[string]json.RawMessage{"user_id": b.UserID, "created_at": b.CreatedAt, "updated_at": b.UpdatedAt} {
		if raw != nil {
			return users.Patch{}, apierror.New(apierror.ImmutableField, "Field %q cannot be changed.", name).WithDetails(map[string]string{"field": name})
		}
	}
	var p users.Patch
	p.Nickname = optString(b.Nickname)
	p.AvatarURL = optString(b.AvatarURL)
	if b.Metadata.Set {
		m := b.Metadata.Value
		if b.Metadata.Null || m == nil {
			m = map[string]string{}
		}
		p.Metadata = &m
	}
	return p, nil
}

func optString(o strictjson.Optional[string]) *string {
	if !o.Set {
		return nil
	}
	v := o.Value
	return &v // null clears: Value is "" then
}

func (h *handler) delete(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	id := r.PathParam("user_id")
	if err := h.users.Delete(ctx, r.Principal, id); err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, actionDelete, id, map[string]audit.Change{"deleted": {Before: false, After: true}})
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (h *handler) list(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.users.List(ctx, r.Principal, limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}
