package local

// The @connections management API of the local WebSocket gateway
// (PostToConnection, GetConnection, DeleteConnection), as API Gateway serves it.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/tokenim/tokenim/infra/local/runtime"
)

func (g *WSGateway) conn(id string) *wsConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[id]
}

// manage serves POST/GET/DELETE /<stage>/@connections/<id>. Requests are
// not SigV4-verified locally (on AWS, IAM checks execute-api:ManageConnections).
func (g *WSGateway) manage(w http.ResponseWriter, r *http.Request) {
	reqID := runtime.NewRequestID()
	stage, id, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/@connections/")
	w.Header().Set("x-amzn-RequestId", reqID)
	if stage != g.stage || id == "" {
		mgmtError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
		return
	}
	c := g.conn(id)
	if c == nil {
		mgmtError(w, http.StatusGone, "GoneException", "")
		return
	}
	switch r.Method {
	case http.MethodPost:
		data, err := io.ReadAll(io.LimitReader(r.Body, int64(g.limits.MaxMessage)+1))
		if err != nil {
			mgmtError(w, http.StatusBadRequest, "BadRequestException", "Could not read the body")
			return
		}
		if len(data) > g.limits.MaxMessage {
			mgmtError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Message too long")
			return
		}
		if !g.write(c, data) {
			mgmtError(w, http.StatusGone, "GoneException", "")
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		c.mu.Lock()
		last := c.lastActive
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"connectedAt":  c.connectedAt.Format("2006-01-02T15:04:05.000Z"),
			"lastActiveAt": last.UTC().Format("2006-01-02T15:04:05.000Z"),
			"identity":     map[string]string{"sourceIp": c.identity.SourceIP, "userAgent": c.identity.UserAgent},
		})
	case http.MethodDelete:
		g.closeConn(c, websocket.CloseNormalClosure, "Closed by the server")
		w.WriteHeader(http.StatusNoContent)
	default:
		mgmtError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
	}
}

// mgmtError answers in AWS's REST-JSON error format (x-amzn-ErrorType), so
// the SDK decodes e.g. *types.GoneException.
func mgmtError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	if msg == "" {
		io.WriteString(w, `{"message":null}`)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
