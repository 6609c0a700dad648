package template

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// This file reads the functions' `Type: DynamoDB` events: what the local
// stack needs to act as Lambda's event source mapping for a table's
// stream (infra/local/streams.go).

// DynamoDBSource is a DynamoDB stream event source of a function.
type DynamoDBSource struct {
	Function string // logical id
	Event    string // event name
	Table    string // logical id of the table whose StreamArn is read
	// StartingPosition is TRIM_HORIZON (every record the stream holds)
	// or LATEST (only records written after the mapping starts).
	StartingPosition string
	BatchSize        int // 1..10000, default 100
	BatchWindow      int // MaximumBatchingWindowInSeconds, 0..300
	// Filters are FilterCriteria.Filters[].Pattern (EventBridge patterns,
	// JSON text); a record is delivered when any one matches. None: all.
	Filters        []string
	ReportFailures bool // FunctionResponseTypes: [ReportBatchItemFailures]
	Bisect         bool // BisectBatchOnFunctionError
	// MaxRetries is MaximumRetryAttempts: -1 (the default) retries until
	// the record leaves the stream.
	MaxRetries int
	// OnFailureQueue is the logical id of the SQS queue of
	// DestinationConfig.OnFailure ("" if none).
	OnFailureQueue string
	Enabled        bool
}

// streamProps are the properties the local stack honours. Anything else
// (ParallelizationFactor, TumblingWindowInSeconds, MaximumRecordAgeInSeconds,
// ...) is refused rather than silently ignored, so a template never
// behaves differently locally without saying so.
var streamProps = map[string]bool{
	"Stream": true, "StartingPosition": true, "BatchSize": true, "MaximumBatchingWindowInSeconds": true,
	"FilterCriteria": true, "FunctionResponseTypes": true, "BisectBatchOnFunctionError": true,
	"MaximumRetryAttempts": true, "DestinationConfig": true, "Enabled": true,
}

// DynamoDBSources returns every DynamoDB event of every function, sorted,
// or an error naming the first event the local stack cannot honour.
func (t *Template) DynamoDBSources() ([]DynamoDBSource, error) {
	var out []DynamoDBSource
	for _, f := range t.Functions() {
		names := make([]string, 0, len(f.Events))
		for name := range f.Events {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			e := f.Events[name]
			if e.Type != "DynamoDB" {
				continue
			}
			s, err := t.dynamoDBSource(f.LogicalID, e)
			if err != nil {
				return nil, fmt.Errorf("template: %s.%s (Type: DynamoDB): %w", f.LogicalID, e.Name, err)
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function+out[i].Event < out[j].Function+out[j].Event })
	return out, nil
}

func (t *Template) dynamoDBSource(function string, e Event) (DynamoDBSource, error) {
	p := e.Properties
	var unknown []string
	for k := range p {
		if !streamProps[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return DynamoDBSource{}, fmt.Errorf("unsupported properties %s", strings.Join(unknown, ", "))
	}
	s := DynamoDBSource{Function: function, Event: e.Name, StartingPosition: Str(p, "StartingPosition"),
		BatchSize: Int(p, "BatchSize", 100), BatchWindow: Int(p, "MaximumBatchingWindowInSeconds", 0),
		MaxRetries: Int(p, "MaximumRetryAttempts", -1), Enabled: true}
	if b, ok := p["Enabled"].(bool); ok {
		s.Enabled = b
	}
	if b, ok := p["BisectBatchOnFunctionError"].(bool); ok {
		s.Bisect = b
	}

	ga, _ := Map(p, "Stream")["Fn::GetAtt"].([]any)
	if len(ga) != 2 || ga[1] != "StreamArn" {
		return s, fmt.Errorf("Stream must be !GetAtt <Table>.StreamArn")
	}
	s.Table, _ = ga[0].(string)
	table, ok := t.Resources[s.Table]
	if !ok || table.Type != "AWS::DynamoDB::Table" {
		return s, fmt.Errorf("Stream: %q is not a table of the template", s.Table)
	}
	if Str(Map(table.Properties, "StreamSpecification"), "StreamViewType") == "" {
		return s, fmt.Errorf("Stream: table %s has no StreamSpecification", s.Table)
	}

	switch {
	case s.StartingPosition != "TRIM_HORIZON" && s.StartingPosition != "LATEST":
		return s, fmt.Errorf("StartingPosition %q: want TRIM_HORIZON or LATEST", s.StartingPosition)
	case s.BatchSize < 1 || s.BatchSize > 10000:
		return s, fmt.Errorf("BatchSize %d: want 1..10000", s.BatchSize)
	case s.BatchWindow < 0 || s.BatchWindow > 300:
		return s, fmt.Errorf("MaximumBatchingWindowInSeconds %d: want 0..300", s.BatchWindow)
	case s.MaxRetries < -1 || s.MaxRetries > 10000:
		return s, fmt.Errorf("MaximumRetryAttempts %d: want -1..10000", s.MaxRetries)
	}

	for _, rt := range List(p, "FunctionResponseTypes") {
		if rt != "ReportBatchItemFailures" {
			return s, fmt.Errorf("FunctionResponseTypes: %v is not ReportBatchItemFailures", rt)
		}
		s.ReportFailures = true
	}

	if fc, ok := p["FilterCriteria"]; ok {
		fm, _ := fc.(map[string]any)
		for k := range fm {
			if k != "Filters" {
				return s, fmt.Errorf("FilterCriteria.%s is not supported", k)
			}
		}
		for i, f := range List(fm, "Filters") {
			fl, _ := f.(map[string]any)
			pat := Str(fl, "Pattern")
			var obj map[string]any
			if err := json.Unmarshal([]byte(pat), &obj); err != nil || obj == nil {
				return s, fmt.Errorf("FilterCriteria.Filters[%d].Pattern is not a JSON object", i)
			}
			s.Filters = append(s.Filters, pat)
		}
	}

	if dc, ok := p["DestinationConfig"]; ok {
		q, err := t.onFailureQueue(dc)
		if err != nil {
			return s, err
		}
		s.OnFailureQueue = q
	}
	return s, nil
}

// onFailureQueue reads DestinationConfig: {OnFailure: {Type: SQS,
// Destination: !GetAtt <Queue>.Arn}}, the only destination run locally.
func (t *Template) onFailureQueue(dc any) (string, error) {
	m, _ := dc.(map[string]any)
	for k := range m {
		if k != "OnFailure" {
			return "", fmt.Errorf("DestinationConfig.%s is not supported", k)
		}
	}
	of := Map(m, "OnFailure")
	if typ := Str(of, "Type"); typ != "" && typ != "SQS" {
		return "", fmt.Errorf("DestinationConfig.OnFailure.Type %q: only SQS is supported locally", typ)
	}
	ga, _ := Map(of, "Destination")["Fn::GetAtt"].([]any)
	if len(ga) != 2 || ga[1] != "Arn" {
		return "", fmt.Errorf("DestinationConfig.OnFailure.Destination must be !GetAtt <Queue>.Arn")
	}
	q, _ := ga[0].(string)
	if r, ok := t.Resources[q]; !ok || r.Type != "AWS::SQS::Queue" {
		return "", fmt.Errorf("DestinationConfig.OnFailure.Destination: %q is not a queue of the template", q)
	}
	return q, nil
}
