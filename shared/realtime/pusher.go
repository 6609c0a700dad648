package realtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrGone means the connection is closed (the management API's 410).
var ErrGone = errors.New("realtime: connection gone")

// Pusher talks to one connection at a time.
type Pusher interface {
	// Push posts data to the connection; a closed connection is ErrGone.
	Push(ctx context.Context, connID string, data []byte) error
	// Close disconnects the connection (API Gateway then runs $disconnect);
	// an already closed one is not an error.
	Close(ctx context.Context, connID string) error
}

// APIPusher pushes through the API Gateway management API.
type APIPusher struct {
	client *apigatewaymanagementapi.Client
}

// NewAPIPusher returns a pusher for endpoint, the stage's https URL
// (WS_MANAGEMENT_ENDPOINT). The endpoint is set on this client only, so
// AWS_ENDPOINT_URL (an emulator, locally) does not redirect it. Retries
// (throttling, 429 and 5xx; never 410 or other 4xx) are cfg's: the one
// policy set by awsclient.Load.
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

// Close deletes the connection; a closed one is not an error.
func (p *APIPusher) Close(ctx context.Context, connID string) error {
	_, err := p.client.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connID)})
	var gone *types.GoneException
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("realtime: delete connection: %w", err)
	}
	return nil
}

// Retryable reports whether a failed push may succeed later: throttling,
// 5xx and transport errors are; 410 and other 4xx answers are not.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, ErrGone) || errors.Is(err, context.Canceled) {
		return false
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		s := re.HTTPStatusCode()
		return s == 429 || s >= 500
	}
	return true
}
