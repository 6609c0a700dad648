package template

import "testing"

// TestScalarTypes: numbers and booleans keep their types (a "!!int" tag is
// not a custom tag like !Ref), so timeouts and batch sizes are read right.
func TestScalarTypes(t *testing.T) {
	tmpl, err := Parse([]byte(`
Globals:
  Function:
    Timeout: 10
Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 5
      MemorySize: "512"
      Events:
        Q:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn, BatchSize: 7, MaximumBatchingWindowInSeconds: 2, Enabled: false,
                       FunctionResponseTypes: [ReportBatchItemFailures]}
  BFunction:
    Type: AWS::Serverless::Function
    Properties: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	fs := tmpl.Functions()
	if fs[0].Timeout != 5 || fs[0].MemorySize != 512 || fs[1].Timeout != 10 {
		t.Errorf("timeouts/memory = %d/%d, %d", fs[0].Timeout, fs[0].MemorySize, fs[1].Timeout)
	}
	src := tmpl.SQSSources()
	if len(src) != 1 || src[0].BatchSize != 7 || src[0].BatchWindow != 2 || src[0].Enabled || !src[0].ReportFailures || src[0].Queue != "Q" {
		t.Errorf("sqs sources = %+v", src)
	}
}

func TestWebSocketRoutes(t *testing.T) {
	tmpl, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	apis := tmpl.WebSocketAPIs()
	if len(apis) != 1 || apis[0].RouteSelectionExpression != "$request.body.action" {
		t.Fatalf("apis = %+v", apis)
	}
	keys := map[string]WebSocketRoute{}
	for _, r := range apis[0].Routes {
		keys[r.RouteKey] = r
		if r.Function != "WebSocketFunction" {
			t.Errorf("route %s -> %q", r.RouteKey, r.Function)
		}
	}
	for _, k := range []string{"$connect", "$disconnect", "$default", "ping"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("route %s missing", k)
		}
	}
	// No identity source: the token may come in ?token= or in
	// Sec-WebSocket-Protocol, and API Gateway would require every listed
	// source (docs/websocket.md); the authorizer refuses a missing token.
	a := keys["$connect"].Authorizer
	if a == nil || a.Function != "AuthorizerFunction" || len(a.IdentityQuery) != 0 || len(a.IdentityHeaders) != 0 {
		t.Errorf("$connect authorizer = %+v", a)
	}
	rest := tmpl.RestAPIs()
	if len(rest) != 1 || rest[0].GatewayResponses["MISSING_AUTHENTICATION_TOKEN"].StatusCode != 404 || rest[0].Cors == nil {
		t.Errorf("rest api = %+v", rest)
	}
}
