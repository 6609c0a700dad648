package template

import (
	"slices"
	"strings"
	"testing"
)

// alarm is what the test needs of one AWS::CloudWatch::Alarm: the metrics
// it watches (namespace/name) and the resources its dimensions name.
type alarm struct {
	name     string
	metrics  []string // "AWS/SQS ApproximateNumberOfMessagesVisible"
	targets  []string // logical ids referred to by its dimensions
	notifies bool     // AlarmActions go to the stack's alarm topic
}

func alarms(t *Template) []alarm {
	var out []alarm
	for _, r := range t.OfType("AWS::CloudWatch::Alarm") {
		p := r.Properties
		a := alarm{name: r.Name}
		add := func(m map[string]any) {
			a.metrics = append(a.metrics, Str(m, "Namespace")+" "+Str(m, "MetricName"))
			a.targets = append(a.targets, refs(m["Dimensions"])...)
		}
		if Str(p, "MetricName") != "" {
			add(p)
		}
		for _, q := range List(p, "Metrics") {
			qm, _ := q.(map[string]any)
			if m := Map(Map(qm, "MetricStat"), "Metric"); m != nil {
				add(m)
			}
		}
		a.notifies = slices.Contains(refsAndConditions(p["AlarmActions"]), "NotifyAlarms")
		out = append(out, a)
	}
	return out
}

// refs lists the logical ids v refers to (Ref, GetAtt).
func refs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "Ref":
				s, _ := x.(string)
				out = append(out, s)
			case "Fn::GetAtt":
				switch g := x.(type) {
				case []any:
					if len(g) > 0 {
						s, _ := g[0].(string)
						out = append(out, s)
					}
				case string:
					out = append(out, strings.SplitN(g, ".", 2)[0])
				}
			default:
				out = append(out, refs(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, refs(x)...)
		}
	}
	return out
}

// refsAndConditions is refs plus the condition names of Fn::If.
func refsAndConditions(v any) []string {
	out := refs(v)
	if m, ok := v.(map[string]any); ok {
		if l, ok := m["Fn::If"].([]any); ok && len(l) > 0 {
			s, _ := l[0].(string)
			out = append(out, s)
		}
	}
	return out
}

func hasAlarm(as []alarm, metric, target string) bool {
	for _, a := range as {
		if slices.Contains(a.metrics, metric) && (target == "" || slices.Contains(a.targets, target)) {
			return true
		}
	}
	return false
}

// TestEveryResourceHasItsAlarms: a new dead-letter queue, function or table
// without its alarm fails here (docs/operations.md says what each means),
// and every alarm notifies the stack's alarm topic when there is one.
func TestEveryResourceHasItsAlarms(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	as := alarms(tmpl)
	dlqs := 0
	for _, q := range tmpl.Queues() {
		if q.DeadLetterQueue == "" {
			continue
		}
		dlqs++
		if !hasAlarm(as, "AWS/SQS ApproximateNumberOfMessagesVisible", q.DeadLetterQueue) {
			t.Errorf("dead-letter queue %s (of %s) has no depth alarm", q.DeadLetterQueue, q.LogicalID)
		}
	}
	if dlqs == 0 {
		t.Fatal("no dead-letter queues found: the test reads the template wrongly")
	}
	for _, f := range tmpl.Functions() {
		for _, m := range []string{"Errors", "Throttles"} {
			if !hasAlarm(as, "AWS/Lambda "+m, f.LogicalID) {
				t.Errorf("function %s has no %s alarm", f.LogicalID, m)
			}
		}
	}
	for _, tb := range tmpl.OfType("AWS::DynamoDB::Table") {
		for _, m := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
			if !hasAlarm(as, "AWS/DynamoDB "+m, tb.Name) {
				t.Errorf("table %s has no %s alarm", tb.Name, m)
			}
		}
	}
	if !hasAlarm(as, "AWS/ApiGateway 5XXError", "") {
		t.Error("no REST API 5xx alarm")
	}
	for _, m := range []string{"IntegrationError", "ExecutionError"} {
		if !hasAlarm(as, "AWS/ApiGateway "+m, "WebSocketApi") {
			t.Errorf("no WebSocket %s alarm", m)
		}
	}
	for _, a := range as {
		if !a.notifies {
			t.Errorf("alarm %s does not notify the alarm topic (AlarmActions: !If [NotifyAlarms, ...])", a.name)
		}
	}
}

// TestDashboardCoversEverything: the operations dashboard graphs every
// function, table and dead-letter queue.
func TestDashboardCoversEverything(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	d, ok := tmpl.Resources["OperationsDashboard"]
	if !ok {
		t.Fatal("no OperationsDashboard")
	}
	body, _ := Map(d.Properties, "DashboardBody")["Fn::Sub"].(string)
	if body == "" {
		t.Fatalf("DashboardBody is not a !Sub string: %v", d.Properties["DashboardBody"])
	}
	var want []string
	for _, f := range tmpl.Functions() {
		want = append(want, "${"+f.LogicalID+"}")
	}
	for _, tb := range tmpl.OfType("AWS::DynamoDB::Table") {
		want = append(want, "${"+tb.Name+"}")
	}
	for _, q := range tmpl.Queues() {
		if q.DeadLetterQueue != "" {
			want = append(want, "${"+q.DeadLetterQueue+".QueueName}")
		}
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("dashboard does not graph %s", w)
		}
	}
}
