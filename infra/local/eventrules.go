package local

// The template's EventBridge rules whose targets are template queues
// (none today: webhooks go from the events function straight to the
// WebhookEventQueue FIFO queue), put on the local buses so the queues'
// workers would get the events as in the cloud. Opt-in with the tap
// (Options.EventTap; make dev sets it): on moto every event a rule
// delivers to SQS costs about 0.1 s of the emulator's single core.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tokenim/tokenim/infra/template"
)

// putTemplateRules creates each AWS::Events::Rule on its local bus
// (busRefs: logical id -> local name) with its queue targets (queueARNs:
// logical id -> ARN). Targets that are not template queues are skipped.
func putTemplateRules(ctx context.Context, cfg aws.Config, t *template.Template, prefix string, busRefs, queueARNs map[string]string) error {
	rules := t.OfType("AWS::Events::Rule")
	sort.Slice(rules, func(i, j int) bool { return rules[i].Name < rules[j].Name })
	eb := eventbridge.NewFromConfig(cfg)
	for _, r := range rules {
		ref, _ := r.Properties["EventBusName"].(map[string]any)
		bus, ok := busRefs[template.Str(ref, "Ref")]
		if !ok {
			continue
		}
		pattern, err := json.Marshal(r.Properties["EventPattern"])
		if err != nil {
			return fmt.Errorf("local: rule %s pattern: %w", r.Name, err)
		}
		var targets []ebtypes.Target
		for _, x := range template.List(r.Properties, "Targets") {
			tm, _ := x.(map[string]any)
			ga, _ := template.Map(tm, "Arn")["Fn::GetAtt"].([]any)
			if len(ga) != 2 {
				continue
			}
			logical, _ := ga[0].(string)
			if arn, ok := queueARNs[logical]; ok {
				targets = append(targets, ebtypes.Target{Id: aws.String(template.Str(tm, "Id")), Arn: aws.String(arn)})
			}
		}
		if len(targets) == 0 {
			continue
		}
		name := prefix + r.Name
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &name, EventBusName: &bus, EventPattern: aws.String(string(pattern))}); err != nil {
			return fmt.Errorf("local: rule %s: %w", r.Name, err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &name, EventBusName: &bus, Targets: targets}); err != nil {
			return fmt.Errorf("local: rule %s targets: %w", r.Name, err)
		}
	}
	return nil
}
