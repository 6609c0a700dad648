package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tokenim/tokenim/shared/audit/audithttp"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/httpapi"
)

// NewHandler builds the messages function's routes.
func NewHandler(s *chat.Service, log *slog.Logger) *httpapi.Handler {
	h := &handler{chat: s}
	// The routes run with their request's origin in the context: the
	// chat service audits admin tokens' changes and grants used with it.
	return httpapi.New(log, audithttp.Routes(
		httpapi.Route{Method: "POST", Resource: "/v1/messages", Handler: h.send},
		httpapi.Route{Method: "GET", Resource: "/v1/conversations", Handler: h.list},
		httpapi.Route{Method: "GET", Resource: "/v1/conversations/{conversation_id}", Handler: h.get},
		httpapi.Route{Method: "GET", Resource: "/v1/conversations/{conversation_id}/messages", Handler: h.history},
		httpapi.Route{Method: "PATCH", Resource: "/v1/conversations/{conversation_id}/messages/{seq}", Handler: h.edit},
		httpapi.Route{Method: "POST", Resource: "/v1/conversations/{conversation_id}/messages/{seq}/recall", Handler: h.recall},
		httpapi.Route{Method: "POST", Resource: "/v1/conversations/{conversation_id}/read", Handler: h.read},
		httpapi.Route{Method: "POST", Resource: "/v1/sync", MaxBody: SyncMaxBody, Handler: h.sync},
		httpapi.Route{Method: "GET", Resource: "/v1/conversations/{conversation_id}/messages/{seq}/thread", Handler: h.thread},
		httpapi.Route{Method: "POST", Resource: "/v1/conversations/{conversation_id}/messages/{seq}/reactions", Handler: h.react},
		httpapi.Route{Method: "DELETE", Resource: "/v1/conversations/{conversation_id}/messages/{seq}/reactions", Handler: h.unreact},
		httpapi.Route{Method: "PUT", Resource: "/v1/conversations/{conversation_id}/messages/{seq}/pin", Handler: h.pin},
		httpapi.Route{Method: "DELETE", Resource: "/v1/conversations/{conversation_id}/messages/{seq}/pin", Handler: h.pin},
	)...)
}

type handler struct{ chat *chat.Service }

type sendBody struct {
	ToUser         string        `json:"to_user"`
	ToGroup        string        `json:"to_group"`
	ConversationID string        `json:"conversation_id"`
	SenderID       string        `json:"sender_id"`
	System         bool          `json:"system"`
	ClientMsgID    string        `json:"client_msg_id"`
	Text           string        `json:"text"`
	Payload        *chat.Payload `json:"payload"`
	ReplyTo        int64         `json:"reply_to"`
	ThreadRoot     int64         `json:"thread_root"`
	Mentions       []string      `json:"mentions"`
	// Attachments: uploads of the sender's (POST /v1/uploads).
	Attachments []chat.Attachment `json:"attachments"`
}

func (h *handler) send(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b sendBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	m, created, err := h.chat.Send(ctx, r.Principal, chat.SendInput{ToUser: b.ToUser, ToGroup: b.ToGroup, ConversationID: b.ConversationID,
		SenderID: b.SenderID, System: b.System, ClientMsgID: b.ClientMsgID, Text: b.Text, Payload: b.Payload, ReplyTo: b.ReplyTo, ThreadRoot: b.ThreadRoot, Mentions: b.Mentions,
		Attachments: b.Attachments})
	if err != nil {
		return httpapi.Response{}, err
	}
	headers := map[string]string{"Location": "/v1/conversations/" + string(m.ConversationID) + "/messages?after=" + itoa(m.Seq-1) + "&limit=1"}
	if !created {
		headers["Idempotent-Replayed"] = "true"
	}
	return httpapi.Response{Status: http.StatusCreated, Body: m, Headers: headers}, nil
}

func (h *handler) list(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	asUser, err := r.QueryID("user_id")
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.chat.ListConversations(ctx, r.Principal, asUser, limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h *handler) get(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	asUser, err := r.QueryID("user_id")
	if err != nil {
		return httpapi.Response{}, err
	}
	c, err := h.chat.GetConversation(ctx, r.Principal, r.PathParam("conversation_id"), asUser)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, c), nil
}

func (h *handler) history(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	asUser, err := r.QueryID("user_id")
	if err != nil {
		return httpapi.Response{}, err
	}
	q := chat.HistoryQuery{Limit: limit, Cursor: r.Query("cursor"), AsUser: asUser}
	// A bound that is present, even 0, is a bound: after=0 pages forward
	// from the first message, where no after pages back from the newest.
	for name, dst := range map[string]**int64{"after": &q.After, "before": &q.Before} {
		if v := r.Query(name); v != "" {
			n, err := chat.ParseSeq(name, v)
			if err != nil {
				return httpapi.Response{}, err
			}
			*dst = &n
		}
	}
	page, err := h.chat.History(ctx, r.Principal, r.PathParam("conversation_id"), q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

type editBody struct {
	Text string `json:"text"`
}

func (h *handler) edit(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	seq, err := chat.ParseSeq("seq", r.PathParam("seq"))
	if err != nil {
		return httpapi.Response{}, err
	}
	var b editBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	m, err := h.chat.Edit(ctx, r.Principal, r.PathParam("conversation_id"), seq, b.Text)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, m), nil
}

func (h *handler) recall(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	seq, err := chat.ParseSeq("seq", r.PathParam("seq"))
	if err != nil {
		return httpapi.Response{}, err
	}
	m, err := h.chat.Recall(ctx, r.Principal, r.PathParam("conversation_id"), seq)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, m), nil
}

type readBody struct {
	Seq    *int64  `json:"seq"`
	UserID *string `json:"user_id"`
}

func (h *handler) read(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b readBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	if b.Seq == nil {
		return httpapi.Response{}, fieldRequired("seq")
	}
	asUser, err := optionalID("user_id", b.UserID)
	if err != nil {
		return httpapi.Response{}, err
	}
	st, err := h.chat.MarkRead(ctx, r.Principal, r.PathParam("conversation_id"), *b.Seq, asUser)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, st), nil
}

// SyncMaxBody is sync's body cap. The schema allows 1,000 since entries
// (chat.MaxSyncConversations) whose keys are up to 132 characters
// ("dm:" + two 64-character ids + ":") and values up to 999,999,999,999:
// about 148 KB of compact JSON with a 4,096-character cursor, which the
// default 64 KiB cap refused (issue 12, defect 8). 256 KiB holds it with room
// for formatting.
const SyncMaxBody = 256 << 10

type syncBody struct {
	Since  map[string]int64 `json:"since"`
	Limit  int              `json:"limit"`
	Cursor string           `json:"cursor"`
	UserID *string          `json:"user_id"`
}

func (h *handler) sync(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b syncBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	if b.Limit == 0 {
		b.Limit = chat.MaxPageSize
	}
	asUser, err := optionalID("user_id", b.UserID)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.chat.Sync(ctx, r.Principal, chat.SyncInput{Since: b.Since, Limit: b.Limit, Cursor: b.Cursor, AsUser: asUser})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// thread lists the replies in a message's thread (chat.Service.Thread).
func (h *handler) thread(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	seq, err := chat.ParseSeq("seq", r.PathParam("seq"))
	if err != nil {
		return httpapi.Response{}, err
	}
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	asUser, err := r.QueryID("user_id")
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.chat.Thread(ctx, r.Principal, r.PathParam("conversation_id"), seq,
		chat.ThreadQuery{Limit: limit, Cursor: r.Query("cursor"), AsUser: asUser})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

type reactBody struct {
	Emoji string `json:"emoji"`
}

// react adds the caller's reaction (chat.Service.React).
func (h *handler) react(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	seq, err := chat.ParseSeq("seq", r.PathParam("seq"))
	if err != nil {
		return httpapi.Response{}, err
	}
	var b reactBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	m, err := h.chat.React(ctx, r.Principal, r.PathParam("conversation_id"), seq, b.Emoji, false)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, m), nil
}

// unreact removes the caller's reaction named by the emoji query
// parameter (a DELETE has no body).
func (h *handler) unreact(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	seq, err := chat.ParseSeq("seq", r.PathParam("seq"))
	if err != nil {
		return httpapi.Response{}, err
	}
	if r.Query("emoji") == "" {
		return httpapi.Response{}, fieldRequired("emoji")
	}
	m, err := h.chat.React(ctx, r.Principal, r.PathParam("conversation_id"), seq, r.Query("emoji"), true)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, m), nil
}

// pin pins (PUT) or unpins (DELETE) a message (chat.Service.Pin).
func (h *handler) pin(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	seq, err := chat.ParseSeq("seq", r.PathParam("seq"))
	if err != nil {
		return httpapi.Response{}, err
	}
	st, err := h.chat.Pin(ctx, r.Principal, r.PathParam("conversation_id"), seq, r.Event.HTTPMethod == http.MethodDelete)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, st), nil
}

// optionalID is an optional id field of a body: "" when absent, invalid_id
// when given as "".
func optionalID(field string, v *string) (string, error) {
	switch {
	case v == nil:
		return "", nil
	case *v == "":
		return "", httpapi.EmptyID(field)
	}
	return *v, nil
}
