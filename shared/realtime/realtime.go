// Package realtime is the WebSocket side of TokenIM: the connection
// records stored on $connect, the per-user presence index, the frames sent
// to clients, the Pusher that delivers them through API Gateway's
// management API (@connections), and the Notifier that turns chat events
// into pushes (inline for small audiences, through the fan-out queue for
// large groups). docs/websocket.md is the protocol.
package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ConnectionTTL is how long a connection record lives: API Gateway closes
// every WebSocket after 2 hours, so a record whose $disconnect was lost
// expires by itself (DynamoDB TTL on expires_at).
const ConnectionTTL = 2 * time.Hour

// PresenceRetention is how long a user's presence item outlives its last
// change (it carries last_seen_at).
const PresenceRetention = 30 * 24 * time.Hour

// Connection is one open WebSocket of a user.
type Connection struct {
	UserID       string `dynamodbav:"user_id"`
	ConnectionID string `dynamodbav:"connection_id"`
	ConnectedAt  int64  `dynamodbav:"connected_at"` // epoch milliseconds
	ExpiresAt    int64  `dynamodbav:"expires_at"`   // epoch seconds (TTL)
	Device       string `dynamodbav:"device,omitempty"`
	UserAgent    string `dynamodbav:"user_agent,omitempty"`
	SourceIP     string `dynamodbav:"source_ip,omitempty"`
}

// NewConnection builds the record for a connection opened at now.
func NewConnection(userID, connID string, now time.Time) Connection {
	return Connection{UserID: userID, ConnectionID: connID, ConnectedAt: now.UnixMilli(), ExpiresAt: now.Add(ConnectionTTL).Unix()}
}

// Presence is what the presence index knows of one user: the ids of the
// connections that have not expired, and when the user was last seen
// leaving (zero if never).
type Presence struct {
	UserID   string
	Conns    []string
	LastSeen time.Time
}

// Online reports whether the user has a live connection.
func (p Presence) Online() bool { return len(p.Conns) > 0 }

// Store keeps connection records and the presence index (implemented by
// dynamo.Connections; docs/data-model.md has the items and their costs).
type Store interface {
	// PutConnection stores the record and adds it to the user's presence item.
	PutConnection(ctx context.Context, c Connection) error
	// DeleteConnection removes both; a missing record is not an error.
	DeleteConnection(ctx context.Context, userID, connID string, at time.Time) error
	// DeleteStaleConnection is DeleteConnection for a connection that
	// answered a push with 410, unless it connected after connectedBefore:
	// API Gateway answers 410 to a connection whose $connect has not
	// finished, and that fresh record must stay. deleted reports whether
	// it went.
	DeleteStaleConnection(ctx context.Context, userID, connID string, connectedBefore, at time.Time) (deleted bool, err error)
	// UserConnections lists a user's open connections (one Query).
	UserConnections(ctx context.Context, userID string, now time.Time) ([]Connection, error)
	// Presence reads the presence items of ids (BatchGetItem, 100 per request).
	Presence(ctx context.Context, ids []string, now time.Time) (map[string]Presence, error)
	// GroupPresence is Presence for those of ids who are members of gid now
	// (member and presence items read together, 50 users per BatchGetItem).
	GroupPresence(ctx context.Context, gid string, ids []string, now time.Time) (map[string]Presence, error)
	// GroupMemberIDs pages through a group's member ids after after (""
	// from the start), consistently; next is "" on the last page.
	GroupMemberIDs(ctx context.Context, gid string, limit int, after string) (ids []string, next string, err error)
}

// Frame is a reply to a client frame: "ack", "error" or "pong"
// (docs/websocket.md).
type Frame struct {
	Type      string `json:"type"`
	Action    string `json:"action,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Result    any    `json:"result,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Details   any    `json:"details,omitempty"`
}

// Send marshals a frame and pushes it.
func Send(ctx context.Context, p Pusher, connID string, frame any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return fmt.Errorf("realtime: marshal frame: %w", err)
	}
	return p.Push(ctx, connID, b)
}

type originKey struct{}

// WithOrigin marks ctx as serving a frame received on connID: the pushes
// a use case triggers skip that connection, which gets the ack instead.
func WithOrigin(ctx context.Context, connID string) context.Context {
	return context.WithValue(ctx, originKey{}, connID)
}

func originOf(ctx context.Context) string {
	s, _ := ctx.Value(originKey{}).(string)
	return s
}
