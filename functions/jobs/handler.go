package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/audit/audithttp"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/verify"
)

// VerifyMaxBody fits 1,000 ids of 64 characters with JSON punctuation.
const VerifyMaxBody = 128 << 10

// NewHandler builds the jobs function's routes: s holds the batch jobs, v
// answers /v1/jobs/verify, rec records each job submitted (nil: nothing).
func NewHandler(s *batch.Service, v *verify.Service, rec *audit.Recorder, log *slog.Logger) *httpapi.Handler {
	h := &handler{jobs: s, ids: v, audit: rec}
	return httpapi.New(log,
		httpapi.Route{Method: "POST", Resource: "/v1/jobs/users", MaxBody: batch.MaxBodyBytes, Handler: h.submit(s.SubmitUsers)},
		httpapi.Route{Method: "POST", Resource: "/v1/jobs/groups", MaxBody: batch.MaxBodyBytes, Handler: h.submit(s.SubmitGroups)},
		httpapi.Route{Method: "GET", Resource: "/v1/jobs/{job_id}", Handler: h.get},
		httpapi.Route{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Handler: h.errors},
		httpapi.Route{Method: "POST", Resource: "/v1/jobs/verify", MaxBody: VerifyMaxBody, Handler: h.verify},
	)
}

type handler struct {
	jobs  *batch.Service
	ids   *verify.Service
	audit *audit.Recorder
}

type submitFunc func(ctx context.Context, p auth.Principal, in batch.SubmitInput) (batch.Submitted, error)

// submit answers 202 with Location for a queued job, 200 for a job that
// finished inline (small files) or a dry run; the body has the same shape.
func (h *handler) submit(f submitFunc) httpapi.HandlerFunc {
	return func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := r.Principal.Admin(); err != nil {
			return httpapi.Response{}, err
		}
		dry, err := boolParam(r, "dry_run")
		if err != nil {
			return httpapi.Response{}, err
		}
		key, err := r.IdempotencyKey()
		if err != nil {
			return httpapi.Response{}, err
		}
		sub, err := f(ctx, r.Principal, batch.SubmitInput{ContentType: r.Header("Content-Type"), Body: r.Body(), DryRun: dry,
			IdempotencyKey: key})
		if err != nil {
			return httpapi.Response{}, err
		}
		if dry {
			return httpapi.JSON(http.StatusOK, sub), nil
		}
		status := http.StatusAccepted
		if sub.Finished() {
			status = http.StatusOK
		}
		headers := map[string]string{"Location": "/v1/jobs/" + sub.JobID}
		if sub.Replayed {
			headers["Idempotent-Replayed"] = "true"
		} else {
			// One entry per job, not per row: the job's rows and errors
			// are the detail (GET /v1/jobs/{job_id}). A dry run writes
			// nothing and is not audited.
			audithttp.Record(ctx, h.audit, r, "job.create", "job:"+sub.JobID, map[string]audit.Change{
				"kind": {After: string(sub.Kind)}, "rows": {After: sub.Total}, "format": {After: sub.Format}})
		}
		return httpapi.Response{Status: status, Body: sub, Headers: headers}, nil
	}
}

func boolParam(r *httpapi.Request, name string) (bool, error) {
	switch r.Query(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, apierror.New(apierror.ValidationFailed, "%s must be true or false.", name).WithDetails(map[string]string{"field": name})
}

func (h *handler) get(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	j, err := h.jobs.Get(ctx, r.Principal, r.PathParam("job_id"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, j), nil
}

// errors lists failed rows as JSON, or as CSV (row,id,code,message) when
// the client accepts text/csv; the next page's URL is in the Link header
// (and next_cursor in JSON).
func (h *handler) errors(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	wantCSV := acceptsCSV(r.Header("Accept"))
	limit, err := r.Limit()
	if err != nil {
		return httpapi.Response{}, err
	}
	max := batch.MaxErrorPage
	if wantCSV {
		max = batch.MaxErrorPageCSV
	}
	id := r.PathParam("job_id")
	page, err := h.jobs.Errors(ctx, r.Principal, id, limit, max, r.Query("cursor"))
	if err != nil {
		return httpapi.Response{}, err
	}
	headers := map[string]string{}
	if page.NextCursor != "" {
		q := url.Values{"cursor": {page.NextCursor}}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		headers["Link"] = "</v1/jobs/" + id + "/errors?" + q.Encode() + `>; rel="next"`
	}
	if !wantCSV {
		return httpapi.Response{Status: http.StatusOK, Body: page, Headers: headers}, nil
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"row", "id", "code", "message"})
	for _, e := range page.Errors {
		w.Write([]string{strconv.Itoa(e.Row), cell(e.ID), string(e.Code), cell(e.Message)})
	}
	w.Flush()
	headers["Content-Type"] = "text/csv; charset=utf-8"
	headers["Content-Disposition"] = `attachment; filename="` + id + `-errors.csv"`
	if page.NextCursor != "" {
		headers["X-Next-Cursor"] = page.NextCursor
	}
	return httpapi.Response{Status: http.StatusOK, RawBody: buf.String(), Headers: headers}, nil
}

// acceptsCSV: text/csv is listed with a non-zero quality and ranks at least
// as high as JSON.
func acceptsCSV(accept string) bool {
	q := map[string]float64{}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		v := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				v = f
			}
		}
		q[mt] = v
	}
	c, ok := q["text/csv"]
	return ok && c > 0 && c >= q["application/json"]
}

// cell guards spreadsheet users against formula injection (OWASP): a cell
// starting with = + - @, a tab or a carriage return gets a leading quote. A cell
// starting with a quote gets one too, so "drop one leading quote" restores
// every cell exactly (docs/batch.md). Valid ids never start with those; an
// invalid id echoed from the file might.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@'\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type verifyBody struct {
	UserIDs  []string `json:"user_ids"`
	GroupIDs []string `json:"group_ids"`
}

func (h *handler) verify(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Principal.Admin(); err != nil {
		return httpapi.Response{}, err
	}
	var b verifyBody
	if err := r.DecodeJSON(&b); err != nil {
		return httpapi.Response{}, err
	}
	var v verify.Result
	var err error
	switch {
	case b.UserIDs != nil && b.GroupIDs == nil:
		v, err = h.ids.Users(ctx, r.Principal, b.UserIDs)
	case b.GroupIDs != nil && b.UserIDs == nil:
		v, err = h.ids.Groups(ctx, r.Principal, b.GroupIDs)
	default:
		err = apierror.New(apierror.ValidationFailed, "Give exactly one of user_ids and group_ids.")
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, v), nil
}
