package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tokenim/tokenim/shared/attachments"
	"github.com/tokenim/tokenim/shared/httpapi"
)

// Routes (docs/openapi.yaml).
const (
	uploadsRoute    = "/v1/uploads"
	completeRoute   = "/v1/uploads/{upload_id}/complete"
	attachmentRoute = "/v1/conversations/{conversation_id}/attachments/{attachment_id}"
)

// NewHandler builds the uploads function's routes.
func NewHandler(svc *attachments.Service, log *slog.Logger) *httpapi.Handler {
	h := &handler{svc: svc}
	return httpapi.New(log,
		httpapi.Route{Method: "POST", Resource: uploadsRoute, Handler: h.create},
		httpapi.Route{Method: "POST", Resource: completeRoute, Handler: h.complete},
		httpapi.Route{Method: "GET", Resource: attachmentRoute, Handler: h.download},
	)
}

type handler struct{ svc *attachments.Service }

type createBody struct {
	ConversationID string `json:"conversation_id"`
	Name           string `json:"name"`
	ContentType    string `json:"content_type"`
	Size           int64  `json:"size"`
	Multipart      bool   `json:"multipart"`
}

type completeBody struct {
	Parts []attachments.CompletedPart `json:"parts"`
}

func (h *handler) create(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b createBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	out, err := h.svc.CreateUpload(ctx, r.Principal, attachments.CreateInput{ConversationID: b.ConversationID, Name: b.Name,
		ContentType: b.ContentType, Size: b.Size, Multipart: b.Multipart})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusCreated, out), nil
}

func (h *handler) complete(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b completeBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	out, err := h.svc.CompleteUpload(ctx, r.Principal, r.PathParam("upload_id"), b.Parts)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *handler) download(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	out, err := h.svc.DownloadURL(ctx, r.Principal, r.PathParam("conversation_id"), r.PathParam("attachment_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}
