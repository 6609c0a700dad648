package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit/audithttp"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/strictjson"
)

// NewHandler builds the groups function's routes.
func NewHandler(s *chat.Service, log *slog.Logger) *httpapi.Handler {
	h := &handler{chat: s}
	// The routes run with their request's origin in the context: the
	// chat service audits admin tokens' changes and grants used with it.
	return httpapi.New(log, audithttp.Routes(
		httpapi.Route{Method: "POST", Resource: "/v1/groups", Handler: h.create},
		httpapi.Route{Method: "GET", Resource: "/v1/groups/{group_id}", Handler: h.get},
		httpapi.Route{Method: "PATCH", Resource: "/v1/groups/{group_id}", Handler: h.update},
		httpapi.Route{Method: "DELETE", Resource: "/v1/groups/{group_id}", Handler: h.dissolve},
		httpapi.Route{Method: "POST", Resource: "/v1/groups/{group_id}/members", Handler: h.addMembers},
		httpapi.Route{Method: "GET", Resource: "/v1/groups/{group_id}/members", Handler: h.listMembers},
		httpapi.Route{Method: "PATCH", Resource: "/v1/groups/{group_id}/members/{user_id}", Handler: h.updateMember},
		httpapi.Route{Method: "DELETE", Resource: "/v1/groups/{group_id}/members/{user_id}", Handler: h.removeMember},
		httpapi.Route{Method: "POST", Resource: "/v1/groups/{group_id}/transfer", Handler: h.transfer},
	)...)
}

type handler struct{ chat *chat.Service }

type createBody struct {
	GroupID   string            `json:"group_id"`
	OwnerID   string            `json:"owner_id"`
	Name      string            `json:"name"`
	AvatarURL string            `json:"avatar_url"`
	Metadata  map[string]string `json:"metadata"`
	Members   []string          `json:"members"`
}

func (h *handler) create(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b createBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	key, err := r.IdempotencyKey()
	if err != nil {
		return httpapi.Response{}, err
	}
	g, created, err := h.chat.CreateGroup(ctx, r.Principal, chat.CreateGroupInput{GroupID: b.GroupID, OwnerID: b.OwnerID, Name: b.Name,
		AvatarURL: b.AvatarURL, Metadata: b.Metadata, Members: b.Members, IdempotencyKey: key})
	if err != nil {
		return httpapi.Response{}, err
	}
	headers := map[string]string{"Location": "/v1/groups/" + g.GroupID}
	if !created {
		headers["Idempotent-Replayed"] = "true"
	}
	return httpapi.Response{Status: http.StatusCreated, Body: g, Headers: headers}, nil
}

func (h *handler) get(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	g, err := h.chat.GetGroup(ctx, r.Principal, r.PathParam("group_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, g), nil
}

// updateBody lists the mutable fields and, as raw JSON, the immutable ones
// so that changing them is immutable_field rather than unknown_field.
type updateBody struct {
	Name        strictjson.Optional[string]            `json:"name"`
	AvatarURL   strictjson.Optional[string]            `json:"avatar_url"`
	Metadata    strictjson.Optional[map[string]string] `json:"metadata"`
	MutedAll    strictjson.Optional[bool]              `json:"muted_all"`
	GroupID     json.RawMessage                        `json:"group_id"`
	OwnerID     json.RawMessage                        `json:"owner_id"`
	MemberCount json.RawMessage                        `json:"member_count"`
	CreatedAt   json.RawMessage                        `json:"created_at"`
}

func (h *handler) update(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b updateBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	for name, raw := range map[string]json.RawMessage{"group_id": b.GroupID, "owner_id": b.OwnerID, "member_count": b.MemberCount, "created_at": b.CreatedAt} {
		if raw != nil {
			return httpapi.Response{}, apierror.New(apierror.ImmutableField, "Field %q cannot be changed here.", name).WithDetails(map[string]string{"field": name})
		}
	}
	var p chat.GroupPatch
	p.Name, p.AvatarURL = optString(b.Name), optString(b.AvatarURL)
	if b.Metadata.Set {
		m := b.Metadata.Value
		if m == nil {
			m = map[string]string{}
		}
		p.Metadata = &m
	}
	if b.MutedAll.Set {
		if b.MutedAll.Null {
			return httpapi.Response{}, apierror.New(apierror.ValidationFailed, "muted_all must be true or false.").
				WithDetails(map[string]string{"field": "muted_all"})
		}
		v := b.MutedAll.Value
		p.MutedAll = &v
	}
	g, err := h.chat.UpdateGroup(ctx, r.Principal, r.PathParam("group_id"), p)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, g), nil
}

func optString(o strictjson.Optional[string]) *string {
	if !o.Set {
		return nil
	}
	v := o.Value
	return &v // null clears: Value is "" then
}

func (h *handler) dissolve(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.chat.DissolveGroup(ctx, r.Principal, r.PathParam("group_id")); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

type addBody struct {
	UserIDs []string `json:"user_ids"`
}

func (h *handler) addMembers(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b addBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.chat.AddMembers(ctx, r.Principal, r.PathParam("group_id"), b.UserIDs)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, res), nil
}

func (h *handler) listMembers(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.chat.ListMembers(ctx, r.Principal, r.PathParam("group_id"), limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

type memberBody struct {
	Role  *chat.Role `json:"role"`
	Muted *bool      `json:"muted"`
}

func (h *handler) updateMember(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b memberBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	m, err := h.chat.UpdateMember(ctx, r.Principal, r.PathParam("group_id"), r.PathParam("user_id"), chat.MemberUpdate{Role: b.Role, Muted: b.Muted})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, m), nil
}

func (h *handler) removeMember(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.chat.RemoveMember(ctx, r.Principal, r.PathParam("group_id"), r.PathParam("user_id")); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

type transferBody struct {
	UserID string `json:"user_id"`
}

func (h *handler) transfer(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b transferBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	g, err := h.chat.TransferOwnership(ctx, r.Principal, r.PathParam("group_id"), b.UserID)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, g), nil
}
