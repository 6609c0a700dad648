// Package eventbridge puts TokenIM's domain events (shared/events) on an
// EventBridge bus: source "tokenim", detail-type the event type, detail
// the event's envelope.
package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tokenim/tokenim/shared/events"
)

// API is the part of the EventBridge client the bus uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus is an events.Bus on one event bus (its name or ARN).
type Bus struct {
	API  API
	Name string
}

var _ events.Bus = (*Bus)(nil)

// Put puts up to events.MaxBatch events in one PutEvents call and reports
// each entry's refusal.
func (b *Bus) Put(ctx context.Context, evs []events.Event) ([]error, error) {
	if len(evs) > events.MaxBatch {
		return nil, fmt.Errorf("eventbridge: %d entries, at most %d per call", len(evs), events.MaxBatch)
	}
	entries := make([]types.PutEventsRequestEntry, len(evs))
	for i, e := range evs {
		detail, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("eventbridge: %s: %w", e.ID, err)
		}
		entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String(b.Name), Source: aws.String(events.Source),
			DetailType: aws.String(string(e.Type)), Detail: aws.String(string(detail)), Time: aws.Time(e.Time)}
	}
	out, err := b.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("eventbridge: put events: %w", err)
	}
	if len(out.Entries) != len(evs) {
		return nil, fmt.Errorf("eventbridge: %d results for %d entries", len(out.Entries), len(evs))
	}
	refused := make([]error, len(evs))
	for i, r := range out.Entries {
		if r.ErrorCode != nil {
			refused[i] = errors.New(aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage))
		}
	}
	return refused, nil
}
