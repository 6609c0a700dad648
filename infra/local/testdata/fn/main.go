// Command fn is a test function for infra/local: it behaves as the event
// asks, so tests can provoke every outcome Lambda knows.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	if os.Getenv("FN_INIT_FAIL") != "" {
		fmt.Fprintln(os.Stderr, "init failing on purpose")
		os.Exit(3)
	}
	// A slow init (a secret read from a busy emulator): Lambda gives init
	// its own budget, apart from the invocation's timeout.
	if ms, err := strconv.Atoi(os.Getenv("FN_INIT_SLEEP_MS")); err == nil && ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records    []json.RawMessage `json:"Records"`
		Mode       string            `json:"mode"`
		Sleep      int               `json:"sleep_ms"`
		HTTPMethod string            `json:"httpMethod"`
		Path       string            `json:"path"`
		Type       string            `json:"type"`
		MethodArn  string            `json:"methodArn"`
	}
	json.Unmarshal(raw, &probe)
	if probe.Type == "REQUEST" && probe.MethodArn != "" {
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return authorize(ev)
	}
	if probe.HTTPMethod != "" {
		return rest(probe.Path, raw)
	}
	if probe.Records != nil && strings.Contains(string(probe.Records[0]), `"aws:dynamodb"`) {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return dynamodb(ev)
	}
	if probe.Records != nil {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return sqs(ev)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	switch probe.Mode {
	case "panic":
		panic("boom")
	case "error":
		return nil, errors.New("handler failed")
	case "exit":
		os.Exit(2)
	case "sleep":
		time.Sleep(time.Duration(probe.Sleep) * time.Millisecond)
	}
	return map[string]any{
		"request_id": lc.AwsRequestID, "function_arn": lc.InvokedFunctionArn,
		"function_name": lambdacontext.FunctionName, "memory": lambdacontext.MemoryLimitInMB,
		"deadline_ms": deadline.UnixMilli(), "pid": os.Getpid(), "event": raw,
		"env_marker": os.Getenv("FN_MARKER"),
	}, nil
}

// sqs fails messages whose body starts with "fail", returns a function
// error if any body is "error", and reports unknown ids for "bogus".
func sqs(ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		fmt.Printf("sqs message %s receive_count=%s source=%s\n", m.MessageId, m.Attributes["ApproximateReceiveCount"], m.EventSourceARN)
		switch {
		case m.Body == "error":
			return resp, errors.New("batch failed")
		case m.Body == "bogus":
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: "no-such-id"})
		case strings.HasPrefix(m.Body, "fail"):
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// dynamodb prints every stream record it gets and fails as the record's
// "mode" attribute asks: "fail" is reported as a batch item failure,
// "error" fails the whole invocation, "fail-once:<file>" and
// "error-once:<file>" do so only while <file> does not exist (creating it),
// so a retry succeeds whichever sandbox runs it.
func dynamodb(ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	batch := fmt.Sprint(time.Now().UnixNano())
	fmt.Printf("stream invocation n=%d batch=%s\n", len(ev.Records), batch)
	for i, r := range ev.Records {
		c := r.Change
		fmt.Printf("stream record pk=%s sk=%s event=%s idx=%d n=%d batch=%s seq=%s source=%s region=%s view=%s\n", c.Keys["pk"].String(), c.Keys["sk"].String(),
			r.EventName, i, len(ev.Records), batch, c.SequenceNumber, r.EventSourceArn, r.AWSRegion, c.StreamViewType)
	}
	for _, r := range ev.Records {
		mode := ""
		if m, ok := r.Change.NewImage["mode"]; ok {
			mode = m.String()
		}
		kind, file, _ := strings.Cut(mode, "-once:")
		if file != "" {
			f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				continue // failed once already
			}
			f.Close()
		} else {
			kind = mode
		}
		switch kind {
		case "error":
			return resp, errors.New("stream batch failed")
		case "fail":
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		}
	}
	return resp, nil
}

// rest answers API Gateway proxy events: /echo returns the event it got,
// the other paths provoke the gateway's failure handling.
func rest(path string, raw json.RawMessage) (any, error) {
	switch path {
	case "/panic":
		panic("boom")
	case "/sleep":
		time.Sleep(time.Hour)
	case "/malformed":
		return map[string]any{"hello": "world"}, nil
	case "/binary":
		return events.APIGatewayProxyResponse{StatusCode: 200, IsBase64Encoded: true, Body: "AAEC/w==",
			Headers: map[string]string{"Content-Type": "application/octet-stream"}}, nil
	case "/cookies":
		return events.APIGatewayProxyResponse{StatusCode: 201, Headers: map[string]string{"X-One": "1"},
			MultiValueHeaders: map[string][]string{"Set-Cookie": {"a=1", "b=2"}}}, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(raw), Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

// authorize is a REQUEST authorizer driven by the Authorization header:
// "allow", "deny", "unauthorized", "other-method" (allows only POST), or
// anything else (fails).
func authorize(ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, error) {
	policy := func(effect, resource string) events.APIGatewayCustomAuthorizerResponse {
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "tester",
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}}}},
			Context: map[string]any{"who": "tester", "level": 3}}
	}
	switch ev.Headers["Authorization"] {
	case "allow":
		return policy("Allow", ev.MethodArn), nil
	case "deny":
		return policy("Deny", ev.MethodArn), nil
	case "unauthorized":
		return nil, errors.New("Unauthorized")
	case "other-method":
		arn := ev.MethodArn[:strings.LastIndex(ev.MethodArn, "/GET/")] + "/POST/*"
		return policy("Allow", arn), nil
	}
	return nil, errors.New("authorizer broke")
}
