package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/moderation"
)

// NewHandler builds the moderation function's routes. Who may call each
// is the rule table's (shared/permissions), checked by httpapi first.
// rec records every change (nil: none).
func NewHandler(s *moderation.Service, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	h := &handler{svc: s, audit: rec}
	return httpapi.New(log,
		httpapi.Route{Method: "PUT", Resource: "/v1/users/{user_id}/ban", Handler: h.ban},
		httpapi.Route{Method: "DELETE", Resource: "/v1/users/{user_id}/ban", Handler: h.unban},
		httpapi.Route{Method: "PUT", Resource: "/v1/users/{user_id}/role", Handler: h.setRole},
		httpapi.Route{Method: "GET", Resource: "/v1/roles", Handler: h.roles},
		httpapi.Route{Method: "PUT", Resource: "/v1/roles/{role}", Handler: h.putRole},
		httpapi.Route{Method: "DELETE", Resource: "/v1/roles/{role}", Handler: h.deleteRole},
		httpapi.Route{Method: "GET", Resource: "/v1/users/{user_id}/blocks", Handler: h.listBlocks},
		httpapi.Route{Method: "PUT", Resource: "/v1/users/{user_id}/blocks/{blocked_id}", Handler: h.block},
		httpapi.Route{Method: "DELETE", Resource: "/v1/users/{user_id}/blocks/{blocked_id}", Handler: h.unblock},
		httpapi.Route{Method: "GET", Resource: "/v1/moderation/word-filter", Handler: h.wordFilter},
		// 320 KB: 1,000 words of up to 64 four-byte characters, quoted.
		httpapi.Route{Method: "PUT", Resource: "/v1/moderation/word-filter", MaxBody: 320 << 10, Handler: h.setWordFilter},
		httpapi.Route{Method: "POST", Resource: "/v1/reports", Handler: h.report},
		httpapi.Route{Method: "GET", Resource: "/v1/reports", Handler: h.listReports},
		httpapi.Route{Method: "POST", Resource: "/v1/reports/{report_id}/resolve", Handler: h.resolve},
	)
}

type handler struct {
	svc   *moderation.Service
	audit *audit.Recorder
}

// record writes the audit entry of a change r made.
func (h *handler) record(ctx context.Context, r *httpapi.Request, action, target string, changes map[string]audit.Change) {
	id := r.Event.RequestContext.Identity
	h.audit.Record(ctx, audit.Meta{RequestID: r.RequestID, SourceIP: id.SourceIP, UserAgent: id.UserAgent},
		audit.Entry{Actor: r.Principal.Actor(), Action: action, Target: target, Changes: changes})
}

// banChanges are a ban change's audited fields, before and after; a nil
// ban is none in force (banned false, no reason, no expiry).
func banChanges(before, after *auth.Ban) map[string]audit.Change {
	fields := func(b *auth.Ban) (bool, string, *time.Time) {
		if b == nil {
			return false, "", nil
		}
		return true, b.Reason, ms(b.Until)
	}
	b0, r0, e0 := fields(before)
	b1, r1, e1 := fields(after)
	c := map[string]audit.Change{"banned": {Before: b0, After: b1}, "reason": {Before: r0, After: r1}}
	if e0 != nil || e1 != nil {
		c["expires_at"] = audit.Change{Before: orNil(e0), After: orNil(e1)}
	}
	return c
}

// orNil keeps a typed nil out of an audit.Change (where it would not be
// omitted as an absent value).
func orNil[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

func ms(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := time.UnixMilli(v).UTC()
	return &t
}

type banView struct {
	UserID    string     `json:"user_id"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	BannedBy  string     `json:"banned_by"`
	BannedAt  *time.Time `json:"banned_at"`
}

func (h *handler) ban(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Reason    string     `json:"reason"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	id := r.PathParam("user_id")
	ban, before, err := h.svc.Ban(ctx, r.Principal, id, moderation.BanInput{Reason: b.Reason, ExpiresAt: b.ExpiresAt})
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "user.ban", "user:"+id, banChanges(before, &ban))
	return httpapi.JSON(http.StatusOK, banView{UserID: id, Reason: ban.Reason, ExpiresAt: ms(ban.Until), BannedBy: ban.By, BannedAt: ms(ban.At)}), nil
}

func (h *handler) unban(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	before, err := h.svc.Unban(ctx, r.Principal, r.PathParam("user_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "user.unban", "user:"+r.PathParam("user_id"), banChanges(before, nil))
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (h *handler) setRole(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Role string `json:"role"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	id := r.PathParam("user_id")
	before, err := h.svc.SetRole(ctx, id, b.Role)
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "user.role", "user:"+id, map[string]audit.Change{"role": {Before: before, After: b.Role}})
	return httpapi.JSON(http.StatusOK, map[string]string{"user_id": id, "role": b.Role}), nil
}

func (h *handler) roles(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	list, err := h.svc.Roles(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"roles": list}), nil
}

func (h *handler) putRole(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Grants []string `json:"grants"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	if b.Grants == nil { // absent; [] is a role with no grants
		return httpapi.Response{}, required("grants")
	}
	role, before, err := h.svc.PutRole(ctx, r.PathParam("role"), b.Grants)
	if err != nil {
		return httpapi.Response{}, err
	}
	c := audit.Change{After: role.Grants}
	if before != nil { // nil: a new role
		c.Before = before
	}
	h.record(ctx, r, "role.put", "role:"+role.Name, map[string]audit.Change{"grants": c})
	return httpapi.JSON(http.StatusOK, role), nil
}

func (h *handler) deleteRole(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	before, err := h.svc.DeleteRole(ctx, r.PathParam("role"))
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "role.delete", "role:"+r.PathParam("role"), map[string]audit.Change{"grants": {Before: before}})
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (h *handler) listBlocks(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.svc.ListBlocks(ctx, r.Principal, r.PathParam("user_id"), limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h *handler) block(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	b, err := h.svc.Block(ctx, r.Principal, r.PathParam("user_id"), r.PathParam("blocked_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "block.add", "user:"+b.UserID, map[string]audit.Change{"blocked": {After: b.BlockedID}})
	return httpapi.JSON(http.StatusOK, b), nil
}

func (h *handler) unblock(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := h.svc.Unblock(ctx, r.Principal, r.PathParam("user_id"), r.PathParam("blocked_id")); err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "block.remove", "user:"+r.PathParam("user_id"), map[string]audit.Change{"blocked": {Before: r.PathParam("blocked_id")}})
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

type wordFilterView struct {
	Action    string     `json:"action"`
	Words     []string   `json:"words"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	UpdatedBy string     `json:"updated_by,omitempty"`
}

func (h *handler) wordFilter(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	f, err := h.svc.WordFilter(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, wordFilterView{f.Action, f.Words, ms(f.UpdatedAt), f.UpdatedBy}), nil
}

func (h *handler) setWordFilter(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Action string   `json:"action"`
		Words  []string `json:"words"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	if b.Words == nil { // absent must never wipe the list; [] empties it
		return httpapi.Response{}, required("words")
	}
	f, before, err := h.svc.SetWordFilter(ctx, r.Principal, moderation.WordFilter{Action: b.Action, Words: b.Words})
	if err != nil {
		return httpapi.Response{}, err
	}
	// The words themselves stay out of the log (a list of slurs in every
	// entry): their counts stand for them.
	h.record(ctx, r, "word_filter.set", "word_filter", map[string]audit.Change{"action": {Before: before.Action, After: f.Action},
		"words": {Before: len(before.Words), After: len(f.Words)}})
	return httpapi.JSON(http.StatusOK, wordFilterView{f.Action, f.Words, ms(f.UpdatedAt), f.UpdatedBy}), nil
}

type reportView struct {
	ReportID       string     `json:"report_id"`
	ReporterID     string     `json:"reporter_id"`
	ConversationID string     `json:"conversation_id"`
	Seq            int64      `json:"seq"`
	SenderID       string     `json:"sender_id,omitempty"`
	Text           string     `json:"text,omitempty"`
	Reason         string     `json:"reason"`
	Status         string     `json:"status"`
	CreatedAt      *time.Time `json:"created_at"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	Resolution     string     `json:"resolution,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
}

func viewReport(r moderation.Report) reportView {
	return reportView{r.ReportID, r.ReporterID, r.ConversationID, r.Seq, r.SenderID, r.Text, r.Reason, r.Status,
		ms(r.CreatedAt), r.ResolvedBy, r.Resolution, ms(r.ResolvedAt)}
}

func (h *handler) report(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		ConversationID string `json:"conversation_id"`
		Seq            int64  `json:"seq"`
		Reason         string `json:"reason"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	rep, err := h.svc.CreateReport(ctx, r.Principal, moderation.ReportInput{ConversationID: b.ConversationID, Seq: b.Seq, Reason: b.Reason})
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "report.create", "report:"+rep.ReportID, map[string]audit.Change{"message": {After: rep.ConversationID + "/" + strconv.FormatInt(rep.Seq, 10)}})
	v := viewReport(rep)
	// The reporter sees their report, not the snapshot taken for moderators.
	v.SenderID, v.Text = "", ""
	return httpapi.JSON(http.StatusCreated, v), nil
}

func (h *handler) listReports(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.svc.ListReports(ctx, r.Query("status"), limit, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	out := struct {
		Reports    []reportView `json:"reports"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Reports: []reportView{}, NextCursor: page.NextCursor}
	for _, rep := range page.Reports {
		out.Reports = append(out.Reports, viewReport(rep))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *handler) resolve(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var b struct {
		Resolution string `json:"resolution"`
	}
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	rep, err := h.svc.ResolveReport(ctx, r.Principal, r.PathParam("report_id"), b.Resolution)
	if err != nil {
		return httpapi.Response{}, err
	}
	h.record(ctx, r, "report.resolve", "report:"+rep.ReportID, map[string]audit.Change{"status": {Before: moderation.ReportOpen, After: rep.Status}, "resolution": {After: rep.Resolution}})
	return httpapi.JSON(http.StatusOK, viewReport(rep)), nil
}

// ChatReader reads a reported message through chat's history, as its
// reporter: a message they cannot read is not found.
type ChatReader struct{ Chat *chat.Service }

// ReadMessage implements moderation.MessageReader (one history query).
func (c ChatReader) ReadMessage(ctx context.Context, p auth.Principal, conversationID string, seq int64) (string, string, error) {
	after := seq - 1
	page, err := c.Chat.History(ctx, p, conversationID, chat.HistoryQuery{After: &after, Limit: 1})
	if err != nil {
		return "", "", err
	}
	if len(page.Messages) == 0 || page.Messages[0].Seq != seq {
		return "", "", errNoMessage(conversationID, seq)
	}
	m := page.Messages[0]
	return m.SenderID, m.Text, nil
}

func errNoMessage(conversationID string, seq int64) error {
	return apierror.New(apierror.NotFound, "Message %d of conversation %q was not found.", seq, conversationID)
}

// required is the error for a required body field that is absent.
func required(field string) error {
	return apierror.New(apierror.ValidationFailed, "%s is required.", field).WithDetails(map[string]string{"field": field})
}
