// Package apigw is the API Gateway management API adapter (@connections):
// realtime.Pusher over PostToConnection and DeleteConnection, with the
// gateway's answers mapped to realtime's errors.
package apigw

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tokenim/tokenim/shared/realtime"
)

var _ realtime.Pusher = (*Pusher)(nil)

// Pusher pushes through the API Gateway management API.
type Pusher struct {
	client *apigatewaymanagementapi.Client
}

// New returns a pusher for endpoint, the stage's https URL
// (WS_MANAGEMENT_ENDPOINT). The endpoint is set on this client only, so
// AWS_ENDPOINT_URL (an emulator, locally) does not redirect it. Retries
// (throttling, 429 and 5xx; never 410 or other 4xx) are cfg's: the one
// policy set by awsclient.Load.
func New(cfg aws.Config, endpoint string) *Pusher {
	return &Pusher{client: apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})}
}

// Push posts data to the connection; a closed connection is
// realtime.ErrGone, another 4xx wraps realtime.ErrRefused.
func (p *Pusher) Push(ctx context.Context, connID string, data []byte) error {
	_, err := p.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: data})
	return mapErr("post to connection", err)
}

// Close deletes the connection; a closed one is not an error.
func (p *Pusher) Close(ctx context.Context, connID string) error {
	_, err := p.client.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connID)})
	if err = mapErr("delete connection", err); errors.Is(err, realtime.ErrGone) {
		return nil
	}
	return err
}

// mapErr turns the management API's answers into realtime's errors: 410
// is ErrGone; 429 and 5xx (already retried by the client) and transport
// errors stay retryable; any other 4xx is ErrRefused.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var gone *types.GoneException
	if errors.As(err, &gone) {
		return realtime.ErrGone
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		if s := re.HTTPStatusCode(); s >= 400 && s < 500 && s != 429 {
			return fmt.Errorf("apigw: %s: %w: %w", op, realtime.ErrRefused, err)
		}
	}
	return fmt.Errorf("apigw: %s: %w", op, err)
}
