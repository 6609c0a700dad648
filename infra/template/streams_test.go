package template

import (
	"reflect"
	"strings"
	"testing"
)

// TestDynamoDBSourcesOfTemplate: template.yaml's stream event is read with
// every property the local stack honours.
func TestDynamoDBSourcesOfTemplate(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := tmpl.DynamoDBSources()
	if err != nil {
		t.Fatal(err)
	}
	want := DynamoDBSource{Function: "DeliveryFunction", Event: "Messages", Table: "MessagesTable", StartingPosition: "TRIM_HORIZON",
		BatchSize: 100, BatchWindow: 1, Filters: []string{`{"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "MSG#"}]}}}}`},
		ReportFailures: true, Bisect: true, MaxRetries: 10, OnFailureQueue: "DeliveryDeadLetterQueue", Enabled: true}
	var got *DynamoDBSource
	for i := range srcs {
		if srcs[i].Function == want.Function && srcs[i].Event == want.Event {
			got = &srcs[i]
		}
	}
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("DeliveryFunction.Messages = %+v\nwant %+v", got, want)
	}
	for _, tb := range tmpl.Tables() {
		if tb.LogicalID == "MessagesTable" && tb.StreamViewType != "NEW_IMAGE" {
			t.Errorf("MessagesTable stream view type = %q", tb.StreamViewType)
		}
	}
}

// TestDynamoDBSourceErrors: what the local stack cannot honour is an
// error naming the event, never silently ignored.
func TestDynamoDBSourceErrors(t *testing.T) {
	tests := []struct {
		name, props, table, wantErr string
	}{
		{"defaults", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST}`, "", ""},
		{"unsupported property", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, ParallelizationFactor: 2, TumblingWindowInSeconds: 5}`, "",
			"unsupported properties ParallelizationFactor, TumblingWindowInSeconds"},
		{"no starting position", `{Stream: !GetAtt T.StreamArn}`, "", "StartingPosition"},
		{"AT_TIMESTAMP", `{Stream: !GetAtt T.StreamArn, StartingPosition: AT_TIMESTAMP}`, "", "StartingPosition"},
		{"stream as a string", `{Stream: arn:aws:dynamodb:x, StartingPosition: LATEST}`, "", "!GetAtt <Table>.StreamArn"},
		{"table without a stream", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST}`, "NoStream", "no StreamSpecification"},
		{"not a table", `{Stream: !GetAtt Q.StreamArn, StartingPosition: LATEST}`, "", "not a table"},
		{"batch size 0", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, BatchSize: 0}`, "", "BatchSize"},
		{"window 301", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, MaximumBatchingWindowInSeconds: 301}`, "", "MaximumBatchingWindowInSeconds"},
		{"retries -2", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, MaximumRetryAttempts: -2}`, "", "MaximumRetryAttempts"},
		{"response type", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, FunctionResponseTypes: [Other]}`, "", "FunctionResponseTypes"},
		{"pattern not JSON", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, FilterCriteria: {Filters: [{Pattern: 'eventName'}]}}`, "", "Filters[0].Pattern"},
		{"filter criteria key", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, FilterCriteria: {Other: 1}}`, "", "FilterCriteria.Other"},
		{"SNS destination", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, DestinationConfig: {OnFailure: {Type: SNS, Destination: !Ref Topic}}}`, "", "only SQS"},
		{"destination not a queue", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt T.Arn}}}`, "", "not a queue"},
		{"OnSuccess", `{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, DestinationConfig: {OnSuccess: {}}}`, "", "DestinationConfig.OnSuccess"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table := tc.table
			if table == "" {
				table = "T"
			}
			src := `
Resources:
  Q:
    Type: AWS::SQS::Queue
  T:
    Type: AWS::DynamoDB::Table
    Properties: {StreamSpecification: {StreamViewType: NEW_IMAGE}}
  NoStream:
    Type: AWS::DynamoDB::Table
  FnFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        S:
          Type: DynamoDB
          Properties: ` + strings.ReplaceAll(tc.props, "!GetAtt T.", "!GetAtt "+table+".") + `
`
			tmpl, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			srcs, err := tmpl.DynamoDBSources()
			if tc.wantErr == "" {
				if err != nil || len(srcs) != 1 {
					t.Fatalf("err = %v, sources %+v", err, srcs)
				}
				s := srcs[0]
				if s.BatchSize != 100 || s.BatchWindow != 0 || s.MaxRetries != -1 || s.Bisect || s.ReportFailures || !s.Enabled || s.Table != "T" {
					t.Errorf("defaults = %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "FnFunction.S") {
				t.Errorf("err = %v, want one naming FnFunction.S and %q", err, tc.wantErr)
			}
		})
	}
}
