package local

// EventBridge buses locally (docs/events.md, "Locally"). The template's
// AWS::Events::EventBus resources are created in the emulator as
// <prefix><LogicalId>, and !Ref gives that name, so EventsFunction puts
// its events there. A tap (a rule matching every event on the bus,
// targeting the <prefix>events-tap queue) lets GET /_local/events show
// the last events put on the bus: emulators cannot list what a bus got.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tokenim/tokenim/infra/template"
)

// eventsPath serves the tap.
const eventsPath = "/_local/events"

// tapKeep is how many events GET /_local/events returns at most.
const tapKeep = 100

// EventTap holds the last events the template's buses received.
type EventTap struct {
	sqs *sqs.Client
	url string
	log *slog.Logger

	mu   sync.Mutex
	last []json.RawMessage // EventBridge events, oldest first
}

// newEventTap creates the template's buses and, if withTap, the tap. refs
// maps each bus's logical id to its local name; tap is nil when there is
// no bus or no tap. The tap is opt-in (Options.EventTap; make dev sets
// it): on moto every event a rule sends to SQS costs about 0.1 s of the
// emulator's single core, which a test importing 10,000 users cannot
// afford.
func newEventTap(ctx context.Context, cfg aws.Config, t *template.Template, prefix string, withTap bool, log *slog.Logger) (tap *EventTap, refs map[string]string, err error) {
	var buses []string
	for name, r := range t.Resources {
		if r.Type == "AWS::Events::EventBus" {
			buses = append(buses, name)
		}
	}
	if len(buses) == 0 {
		return nil, nil, nil
	}
	sort.Strings(buses)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if !withTap {
		refs = map[string]string{}
		for _, logical := range buses {
			name := prefix + logical
			if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name}); err != nil && !isAlreadyExists(err) {
				return nil, nil, fmt.Errorf("local: event bus %s: %w", logical, err)
			}
			refs[logical] = name
		}
		return nil, refs, nil
	}
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + "events-tap")})
	if err != nil {
		return nil, nil, fmt.Errorf("local: event tap queue: %w", err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qo.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, nil, fmt.Errorf("local: event tap queue: %w", err)
	}
	refs = map[string]string{}
	for _, logical := range buses {
		name := prefix + logical
		if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name}); err != nil && !isAlreadyExists(err) {
			return nil, nil, fmt.Errorf("local: event bus %s: %w", logical, err)
		}
		rule := name + "-tap"
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &rule, EventBusName: &name,
			EventPattern: aws.String(`{"source": [{"prefix": ""}]}`)}); err != nil {
			return nil, nil, fmt.Errorf("local: event bus %s tap rule: %w", logical, err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &rule, EventBusName: &name,
			Targets: []ebtypes.Target{{Id: aws.String("tap"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
			return nil, nil, fmt.Errorf("local: event bus %s tap target: %w", logical, err)
		}
		refs[logical] = name
	}
	return &EventTap{sqs: q, url: *qo.QueueUrl, log: log}, refs, nil
}

func isAlreadyExists(err error) bool {
	var e *ebtypes.ResourceAlreadyExistsException
	return errors.As(err, &e)
}

// drain moves what the tap queue holds into last (at most 10 receives, so
// a request never waits long).
func (t *EventTap) drain(ctx context.Context) error {
	for range 10 {
		r, err := t.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &t.url, MaxNumberOfMessages: 10})
		if err != nil {
			return err
		}
		if len(r.Messages) == 0 {
			return nil
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		t.mu.Lock()
		for i, m := range r.Messages {
			if body := aws.ToString(m.Body); json.Valid([]byte(body)) {
				t.last = append(t.last, json.RawMessage(body))
			}
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if n := len(t.last); n > tapKeep {
			t.last = append([]json.RawMessage(nil), t.last[n-tapKeep:]...)
		}
		t.mu.Unlock()
		if _, err := t.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &t.url, Entries: del}); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP answers GET /_local/events: {"events": [EventBridge event...]},
// the last 100 put on the template's buses, oldest first.
func (t *EventTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != eventsPath {
		http.NotFound(w, r)
		return
	}
	if err := t.drain(r.Context()); err != nil {
		t.log.Warn("event tap: read failed", "err", err.Error())
	}
	t.mu.Lock()
	out := append([]json.RawMessage{}, t.last...)
	t.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"events": out})
}
