package main

// The credential routes: create (scopes never beyond the creator's),
// list, disable or enable, delete. The secret appears once, in the create
// response, and never in a listing.

import (
	"context"
	"net/http"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/httpapi"
)

// credentialView is a credential on the wire (never its secret hash).
type credentialView struct {
	KeyID     string     `json:"key_id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	Disabled  bool       `json:"disabled"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

func viewOf(c auth.Credential) credentialView {
	v := credentialView{KeyID: c.KeyID, Name: c.Name, Scopes: c.Rights().Strings(), Disabled: c.Revoked,
		CreatedAt: time.UnixMilli(c.CreatedAt).UTC(), CreatedBy: c.CreatedBy}
	if c.UpdatedAt != 0 {
		t := time.UnixMilli(c.UpdatedAt).UTC()
		v.UpdatedAt = &t
	}
	return v
}

var noStoreHeader = map[string]string{"Cache-Control": "no-store"}

func (h *handler) createCredential(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Name   string    `json:"name"`
		Scopes *[]string `json:"scopes"`
	}
	if len(r.Body()) > 0 {
		if err := r.DecodeJSON(&b); err != nil {
			return httpapi.Response{}, err
		}
	}
	in := auth.CreateCredentialInput{Name: b.Name}
	if b.Scopes != nil {
		in.Scopes = *b.Scopes
		if in.Scopes == nil { // "scopes": [] is an empty list, not "the creator's"
			in.Scopes = []string{}
		}
	}
	c, secret, err := h.creds.Create(ctx, r.Principal, in)
	if err != nil {
		return httpapi.Response{}, err
	}
	h.audit.Record(ctx, meta(r), audit.Entry{Actor: r.Principal.Actor(), Action: "credential.create", Target: "credential:" + c.KeyID,
		Changes: map[string]audit.Change{"name": {After: c.Name}, "scopes": {After: c.Rights().String()}}})
	return httpapi.Response{Status: http.StatusCreated, Body: struct {
		credentialView
		Secret string `json:"secret"`
	}{viewOf(c), secret}, Headers: map[string]string{"Cache-Control": "no-store", "Location": "/v1/credentials/" + c.KeyID}}, nil
}

func (h *handler) listCredentials(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.creds.List(ctx, r.Principal, limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	out := struct {
		Credentials []credentialView `json:"credentials"`
		NextCursor  string           `json:"next_cursor,omitempty"`
	}{Credentials: make([]credentialView, 0, len(page.Credentials)), NextCursor: page.NextCursor}
	for _, c := range page.Credentials {
		out.Credentials = append(out.Credentials, viewOf(c))
	}
	return httpapi.Response{Status: http.StatusOK, Body: out, Headers: noStoreHeader}, nil
}

func (h *handler) updateCredential(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Disabled *bool `json:"disabled"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	if b.Disabled == nil {
		return httpapi.Response{}, apierror.New(apierror.ValidationFailed, "disabled is required.").WithDetails(map[string]any{"field": "disabled"})
	}
	c, err := h.creds.SetDisabled(ctx, r.Principal, r.PathParam("key_id"), *b.Disabled)
	if err != nil {
		return httpapi.Response{}, err
	}
	action := "credential.enable"
	if c.Revoked {
		action = "credential.disable"
	}
	h.audit.Record(ctx, meta(r), audit.Entry{Actor: r.Principal.Actor(), Action: action, Target: "credential:" + c.KeyID,
		Changes: map[string]audit.Change{"disabled": {Before: !c.Revoked, After: c.Revoked}}})
	return httpapi.Response{Status: http.StatusOK, Body: viewOf(c), Headers: noStoreHeader}, nil
}

func (h *handler) deleteCredential(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.creds.Delete(ctx, r.Principal, r.PathParam("key_id")); err != nil {
		return httpapi.Response{}, err
	}
	h.audit.Record(ctx, meta(r), audit.Entry{Actor: r.Principal.Actor(), Action: "credential.delete", Target: "credential:" + r.PathParam("key_id")})
	return httpapi.Response{Status: http.StatusNoContent}, nil
}
