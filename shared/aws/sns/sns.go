// Package sns is the Amazon SNS mobile push adapter: a push.Sender for
// APNs and FCM devices. A device becomes an SNS platform endpoint on its
// first push (CreatePlatformEndpoint is idempotent per token, so a
// re-registered token gets its old endpoint back, enabled again); an
// endpoint SNS has disabled (APNs or FCM reported the token invalid)
// makes the push fail with push.ErrDeviceGone, and the device is deleted.
package sns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/tokenim/tokenim/shared/push"
)

// Sender publishes to SNS platform endpoints.
type Sender struct {
	client *sns.Client
	apps   map[push.Platform]string // platform -> platform application ARN
}

var _ push.Sender = (*Sender)(nil)

// New returns a sender over client for the platforms in apps.
func New(client *sns.Client, apps map[push.Platform]string) *Sender {
	return &Sender{client: client, apps: apps}
}

// Send publishes a to d's endpoint, creating it first if d has none.
// Requests: Publish; on a device's first push also CreatePlatformEndpoint
// and SetEndpointAttributes.
func (s *Sender) Send(ctx context.Context, d push.Device, a push.Alert) (push.Sent, error) {
	var sent push.Sent
	arn := d.EndpointARN
	if arn == "" {
		var err error
		if arn, err = s.endpoint(ctx, d); err != nil {
			return push.Sent{}, err
		}
		sent.EndpointARN = arn
	}
	msg, err := Message(d.Platform, a)
	if err != nil {
		return push.Sent{}, fmt.Errorf("%w: %v", push.ErrRejected, err)
	}
	in := &sns.PublishInput{TargetArn: &arn, Message: &msg, MessageStructure: aws.String("json"), MessageAttributes: attributes(d.Platform, a)}
	_, err = s.client.Publish(ctx, in)
	var nf *types.NotFoundException
	if errors.As(err, &nf) && d.EndpointARN != "" {
		// The endpoint was deleted outside TokenIM: make it again.
		if arn, err = s.endpoint(ctx, d); err != nil {
			return push.Sent{}, err
		}
		sent.EndpointARN, in.TargetArn = arn, &arn
		_, err = s.client.Publish(ctx, in)
	}
	if err != nil {
		err = classify("publish", err)
		if errors.Is(err, push.ErrDeviceGone) {
			// SNS disabled the endpoint (APNs or FCM refused the token):
			// the device is deleted, so is its endpoint. A token
			// registered again gets a new one.
			if derr := s.DeleteEndpoint(ctx, arn); derr != nil {
				return push.Sent{}, errors.Join(err, derr)
			}
		}
		return push.Sent{}, err
	}
	return sent, nil
}

var _ push.EndpointDeleter = (*Sender)(nil)

// DeleteEndpoint deletes a platform endpoint (one DeleteEndpoint; SNS
// answers an endpoint already gone with success).
func (s *Sender) DeleteEndpoint(ctx context.Context, arn string) error {
	if _, err := s.client.DeleteEndpoint(ctx, &sns.DeleteEndpointInput{EndpointArn: &arn}); err != nil {
		var nf *types.NotFoundException
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("sns: delete endpoint: %w", err)
	}
	return nil
}

// endpoint creates (or finds) the token's endpoint and enables it: SNS
// returns an existing endpoint for the same token, possibly one it had
// disabled, and the app has just registered the token again.
func (s *Sender) endpoint(ctx context.Context, d push.Device) (string, error) {
	app, ok := s.apps[d.Platform]
	if !ok {
		return "", fmt.Errorf("%w: platform %s has no SNS platform application", push.ErrRejected, d.Platform)
	}
	out, err := s.client.CreatePlatformEndpoint(ctx, &sns.CreatePlatformEndpointInput{PlatformApplicationArn: &app, Token: &d.Token})
	if err != nil {
		return "", classify("create endpoint", err)
	}
	if _, err := s.client.SetEndpointAttributes(ctx, &sns.SetEndpointAttributesInput{EndpointArn: out.EndpointArn,
		Attributes: map[string]string{"Enabled": "true", "Token": d.Token}}); err != nil {
		return "", classify("enable endpoint", err)
	}
	return aws.ToString(out.EndpointArn), nil
}

// classify maps SNS errors to the push errors: a disabled endpoint is a
// device gone; an invalid parameter (a token SNS refuses, a payload too
// large) cannot succeed later; anything else (throttling, 5xx, network,
// after the SDK's retries) may.
func classify(op string, err error) error {
	var disabled *types.EndpointDisabledException
	var invalid *types.InvalidParameterException
	var invalidValue *types.InvalidParameterValueException
	switch {
	case errors.As(err, &disabled):
		return fmt.Errorf("sns: %s: %w", op, push.ErrDeviceGone)
	case errors.As(err, &invalid), errors.As(err, &invalidValue):
		return fmt.Errorf("sns: %s: %w: %v", op, push.ErrRejected, err)
	}
	return fmt.Errorf("sns: %s: %w", op, err)
}

// Message is the SNS message (MessageStructure json) for a: one entry per
// platform key SNS knows, and "default".
func Message(p push.Platform, a push.Alert) (string, error) {
	var key string
	var body any
	switch p {
	case push.APNs, push.APNsSandbox:
		key = map[push.Platform]string{push.APNs: "APNS", push.APNsSandbox: "APNS_SANDBOX"}[p]
		body = apnsPayload(a)
	case push.FCM:
		key, body = "GCM", fcmPayload(a)
	default:
		return "", fmt.Errorf("sns: platform %s is not pushed through SNS", p)
	}
	inner, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	outer, err := json.Marshal(map[string]string{"default": a.Body, key: string(inner)})
	return string(outer), err
}

func apnsPayload(a push.Alert) map[string]any {
	aps := map[string]any{"alert": map[string]string{"title": a.Title, "body": a.Body}, "thread-id": a.ThreadID, "sound": "default"}
	if a.Title == "" {
		aps["alert"] = map[string]string{"body": a.Body}
	}
	if a.Badge >= 0 {
		aps["badge"] = a.Badge
	}
	out := map[string]any{"aps": aps}
	for k, v := range a.Data {
		out[k] = v
	}
	return out
}

// fcmPayload is FCM's HTTP v1 message body, as SNS takes it under "GCM".
func fcmPayload(a push.Alert) map[string]any {
	n := map[string]any{"body": a.Body, "tag": a.CollapseID}
	if a.Title != "" {
		n["title"] = a.Title
	}
	if a.Badge >= 0 {
		n["notification_count"] = a.Badge
	}
	data := map[string]string{}
	for k, v := range a.Data {
		data[k] = v
	}
	return map[string]any{"fcmV1Message": map[string]any{"message": map[string]any{
		"notification": map[string]string{"title": a.Title, "body": a.Body},
		"android":      map[string]any{"collapse_key": a.CollapseID, "notification": n},
		"apns":         map[string]any{"headers": map[string]string{"apns-collapse-id": a.CollapseID}},
		"data":         data,
	}}}
}

// attributes are the APNs headers SNS sets from message attributes.
func attributes(p push.Platform, a push.Alert) map[string]types.MessageAttributeValue {
	if p != push.APNs && p != push.APNsSandbox {
		return nil
	}
	s := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return map[string]types.MessageAttributeValue{
		"AWS.SNS.MOBILE.APNS.PUSH_TYPE":   s("alert"),
		"AWS.SNS.MOBILE.APNS.PRIORITY":    s(strconv.Itoa(10)),
		"AWS.SNS.MOBILE.APNS.COLLAPSE_ID": s(a.CollapseID),
	}
}
