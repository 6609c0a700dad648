// Package realtime holds what the WebSocket side of TokenIM shares: the
// connection record stored on $connect, the frames sent to clients, and
// the Pusher that delivers frames through API Gateway's management API
// (@connections). docs/websocket.md is the protocol.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
)

// ConnectionTTL is how long a connection record lives: API Gateway closes
// every WebSocket after 2 hours, so a record whose $disconnect was lost
// expires by itself (DynamoDB TTL on expires_at).
const ConnectionTTL = 2 * time.Hour

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

// Store keeps connection records (implemented by *store.DB).
type Store interface {
	PutConnection(ctx context.Context, c Connection) error
	DeleteConnection(ctx context.Context, userID, connID string) error
	// UserConnections lists a user's open connections (expired records excluded).
	UserConnections(ctx context.Context, userID string, now time.Time) ([]Connection, error)
}

// Frame is a server-to-client frame. Type says which; the other fields are
// set per type (docs/websocket.md).
type Frame struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
}

// ErrGone means the connection is closed (the management API's 410).
var ErrGone = errors.New("realtime: connection gone")

// Pusher sends data to one connection.
type Pusher interface {
	Push(ctx context.Context, connID string, data []byte) error
}

// APIPusher pushes through the API Gateway management API.
type APIPusher struct {
	client *apigatewaymanagementapi.Client
}

// NewAPIPusher returns a pusher for endpoint, the stage's https URL
// (WS_MANAGEMENT_ENDPOINT). The endpoint is set on this client only, so
// AWS_ENDPOINT_URL (an emulator, locally) does not redirect it.
func NewAPIPusher(cfg aws.Config, endpoint string) *APIPusher {
	return &APIPusher{client: apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})}
}

// Push posts data to the connection; a closed connection is ErrGone.
func (p *APIPusher) Push(ctx context.Context, connID string, data []byte) error {
	_, err := p.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: data})
	var gone *types.GoneException
	if errors.As(err, &gone) {
		return ErrGone
	}
	if err != nil {
		return fmt.Errorf("realtime: post to connection: %w", err)
	}
	return nil
}

// Send marshals a frame and pushes it.
func Send(ctx context.Context, p Pusher, connID string, frame any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return fmt.Errorf("realtime: marshal frame: %w", err)
	}
	return p.Push(ctx, connID, b)
}
