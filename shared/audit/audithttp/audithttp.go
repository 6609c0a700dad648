// Package audithttp connects REST handlers to the audit log: the origin of
// a request (request id, source IP, user agent) as audit.Meta, in the
// request's context for use cases that record below the handler
// (shared/chat), and one call for handlers that record themselves.
package audithttp

import (
	"context"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/httpapi"
)

// Origin is where r came from.
func Origin(r *httpapi.Request) audit.Meta {
	id := r.Event.RequestContext.Identity
	return audit.Meta{RequestID: r.RequestID, SourceIP: id.SourceIP, UserAgent: id.UserAgent}
}

// Routes returns routes whose handlers run with their request's origin
// in the context (audit.WithMeta).
func Routes(routes ...httpapi.Route) []httpapi.Route {
	out := make([]httpapi.Route, len(routes))
	for i, rt := range routes {
		next := rt.Handler
		rt.Handler = func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
			return next(audit.WithMeta(ctx, Origin(r)), r)
		}
		out[i] = rt
	}
	return out
}

// Record writes one entry for r's principal (a nil recorder writes none).
func Record(ctx context.Context, rec *audit.Recorder, r *httpapi.Request, action, target string, changes map[string]audit.Change) {
	rec.Record(ctx, Origin(r), audit.Entry{Actor: r.Principal.Actor(), Action: action, Target: target, Changes: changes})
}
