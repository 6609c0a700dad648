package template

import (
	"sort"
	"strings"
)

// This file reads what the local stack (infra/local) needs to act as API
// Gateway and as Lambda's event source mappings: the REST API's
// authorizer, CORS and gateway responses, the WebSocket APIs with their
// routes, and the SQS event sources.

// RestAPI is the AWS::Serverless::Api that the REST routes belong to.
type RestAPI struct {
	LogicalID         string
	StageName         any // usually {"Ref": "StageName"}
	DefaultAuthorizer string
	Authorizers       map[string]Authorizer
	Cors              *Cors
	GatewayResponses  map[string]GatewayResponse
	BinaryMediaTypes  []string
	props             map[string]any // as written, for Resolve
}

// Authorizer is a Lambda REQUEST authorizer.
type Authorizer struct {
	Name     string
	Function string // logical id of the authorizer function
	// IdentityHeaders and IdentityQuery list the identity sources: when one
	// is missing the gateway answers 401 without calling the authorizer.
	IdentityHeaders []string
	IdentityQuery   []string
}

// Cors is SAM's Cors setting with the CloudFormation quoting removed.
type Cors struct{ AllowOrigin, AllowHeaders, AllowMethods, MaxAge string }

// GatewayResponse is one entry of GatewayResponses.
type GatewayResponse struct {
	StatusCode int // 0: the response type's default
	Headers    map[string]string
	Templates  map[string]string // content type -> template
}

// RestAPIs returns the template's AWS::Serverless::Api resources.
func (t *Template) RestAPIs() []RestAPI {
	var out []RestAPI
	for _, r := range t.OfType("AWS::Serverless::Api") {
		p := r.Properties
		api := RestAPI{LogicalID: r.Name, StageName: p["StageName"], Authorizers: map[string]Authorizer{}, GatewayResponses: map[string]GatewayResponse{}}
		a := Map(p, "Auth")
		api.DefaultAuthorizer = Str(a, "DefaultAuthorizer")
		for name, v := range Map(a, "Authorizers") {
			am, _ := v.(map[string]any)
			au := Authorizer{Name: name, Function: refTarget(am["FunctionArn"])}
			id := Map(am, "Identity")
			au.IdentityHeaders = strs(List(id, "Headers"))
			au.IdentityQuery = strs(List(id, "QueryStrings"))
			api.Authorizers[name] = au
		}
		api.props = p
		_ = api.parseResponses(literal) // literal never fails
		api.BinaryMediaTypes = strs(List(p, "BinaryMediaTypes"))
		out = append(out, api)
	}
	return out
}

// literal is a value as written: a string, or "" for an intrinsic.
func literal(v any) (string, error) { s, _ := v.(string); return s, nil }

// Resolve returns the API with the Cors values and gateway response
// headers that are intrinsics (!Sub "'${CorsAllowOrigin}'") resolved by
// value (infra/local's Resolver), CloudFormation quoting removed.
func (a RestAPI) Resolve(value func(any) (string, error)) (RestAPI, error) {
	a.GatewayResponses = map[string]GatewayResponse{}
	return a, a.parseResponses(value)
}

// parseResponses reads Cors and GatewayResponses from a.props.
func (a *RestAPI) parseResponses(value func(any) (string, error)) error {
	var err error
	str := func(v any) string {
		s, e := value(v)
		if e != nil && err == nil {
			err = e
		}
		return unquote(s)
	}
	p := a.props
	if c := Map(p, "Cors"); c != nil {
		a.Cors = &Cors{AllowOrigin: str(c["AllowOrigin"]), AllowHeaders: str(c["AllowHeaders"]),
			AllowMethods: str(c["AllowMethods"]), MaxAge: str(c["MaxAge"])}
	} else if v, ok := p["Cors"]; ok {
		a.Cors = &Cors{AllowOrigin: str(v)}
	}
	for typ, v := range Map(p, "GatewayResponses") {
		gm, _ := v.(map[string]any)
		gr := GatewayResponse{StatusCode: Int(gm, "StatusCode", 0), Headers: map[string]string{}, Templates: map[string]string{}}
		if s, ok := gm["StatusCode"].(string); ok {
			gr.StatusCode = atoi(s)
		}
		for k, hv := range Map(Map(gm, "ResponseParameters"), "Headers") {
			gr.Headers[k] = str(hv)
		}
		for k, tv := range Map(gm, "ResponseTemplates") {
			gr.Templates[k], _ = tv.(string)
		}
		a.GatewayResponses[typ] = gr
	}
	return err
}

// WebSocketAPI is an AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET.
type WebSocketAPI struct {
	LogicalID                string
	RouteSelectionExpression string
	Stage                    WebSocketStage
	Routes                   []WebSocketRoute
}

// WebSocketStage is the API's stage (the first one, by logical id).
type WebSocketStage struct {
	LogicalID          string
	StageName          any // usually {"Ref": "StageName"}
	ThrottleRateLimit  any
	ThrottleBurstLimit any
}

// WebSocketRoute is one route with its integration's function and, on
// $connect, its authorizer.
type WebSocketRoute struct {
	LogicalID  string
	RouteKey   string
	Function   string // logical id of the AWS_PROXY integration's function
	Authorizer *Authorizer
	// ReturnResponse: the route has a RouteResponseSelectionExpression, so
	// the integration's reply goes back to the client.
	ReturnResponse bool
}

// WebSocketAPIs returns the template's WebSocket APIs with their routes.
func (t *Template) WebSocketAPIs() []WebSocketAPI {
	var out []WebSocketAPI
	for _, r := range t.OfType("AWS::ApiGatewayV2::Api") {
		if Str(r.Properties, "ProtocolType") != "WEBSOCKET" {
			continue
		}
		api := WebSocketAPI{LogicalID: r.Name, RouteSelectionExpression: Str(r.Properties, "RouteSelectionExpression")}
		for _, s := range t.OfType("AWS::ApiGatewayV2::Stage") {
			if refTarget(s.Properties["ApiId"]) == r.Name && api.Stage.LogicalID == "" {
				d := Map(s.Properties, "DefaultRouteSettings")
				api.Stage = WebSocketStage{LogicalID: s.Name, StageName: s.Properties["StageName"],
					ThrottleRateLimit: d["ThrottlingRateLimit"], ThrottleBurstLimit: d["ThrottlingBurstLimit"]}
			}
		}
		for _, rt := range t.OfType("AWS::ApiGatewayV2::Route") {
			p := rt.Properties
			if refTarget(p["ApiId"]) != r.Name {
				continue
			}
			route := WebSocketRoute{LogicalID: rt.Name, RouteKey: Str(p, "RouteKey"), ReturnResponse: Str(p, "RouteResponseSelectionExpression") != ""}
			if integ, ok := t.Resources[subTarget(p["Target"], "integrations/")]; ok {
				route.Function = arnFunction(integ.Properties["IntegrationUri"])
			}
			if Str(p, "AuthorizationType") == "CUSTOM" {
				if az, ok := t.Resources[refTarget(p["AuthorizerId"])]; ok {
					au := Authorizer{Name: az.Name, Function: arnFunction(az.Properties["AuthorizerUri"])}
					for _, src := range strs(List(az.Properties, "IdentitySource")) {
						if q, ok := strings.CutPrefix(src, "route.request.querystring."); ok {
							au.IdentityQuery = append(au.IdentityQuery, q)
						} else if h, ok := strings.CutPrefix(src, "route.request.header."); ok {
							au.IdentityHeaders = append(au.IdentityHeaders, h)
						}
					}
					route.Authorizer = &au
				}
			}
			api.Routes = append(api.Routes, route)
		}
		sort.Slice(api.Routes, func(i, j int) bool { return api.Routes[i].RouteKey < api.Routes[j].RouteKey })
		out = append(out, api)
	}
	return out
}

// WebSocketRoutesOf returns the route keys one function serves.
func (t *Template) WebSocketRoutesOf(logicalID string) []string {
	var out []string
	for _, api := range t.WebSocketAPIs() {
		for _, r := range api.Routes {
			if r.Function == logicalID {
				out = append(out, r.RouteKey)
			}
		}
	}
	sort.Strings(out)
	return out
}

// SQSSource is an SQS event source of a function.
type SQSSource struct {
	Function       string // logical id
	Event          string // event name
	Queue          string // logical id of the queue
	BatchSize      int
	BatchWindow    int  // MaximumBatchingWindowInSeconds
	ReportFailures bool // FunctionResponseTypes: [ReportBatchItemFailures]
	MaxConcurrency int  // ScalingConfig.MaximumConcurrency (0: unset)
	Enabled        bool
}

// SQSSources returns every SQS event of every function, sorted.
func (t *Template) SQSSources() []SQSSource {
	var out []SQSSource
	for _, f := range t.Functions() {
		for _, e := range f.Events {
			if e.Type != "SQS" {
				continue
			}
			p := e.Properties
			s := SQSSource{Function: f.LogicalID, Event: e.Name, Queue: refTarget(p["Queue"]), BatchSize: Int(p, "BatchSize", 10),
				BatchWindow: Int(p, "MaximumBatchingWindowInSeconds", 0), MaxConcurrency: Int(Map(p, "ScalingConfig"), "MaximumConcurrency", 0), Enabled: true}
			if b, ok := p["Enabled"].(bool); ok {
				s.Enabled = b
			}
			for _, rt := range strs(List(p, "FunctionResponseTypes")) {
				if rt == "ReportBatchItemFailures" {
					s.ReportFailures = true
				}
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function+out[i].Event < out[j].Function+out[j].Event })
	return out
}

// refTarget returns the logical id behind {"Ref": x} or {"Fn::GetAtt": [x, ...]}.
func refTarget(v any) string {
	m, _ := v.(map[string]any)
	if s, ok := m["Ref"].(string); ok {
		return s
	}
	if l, ok := m["Fn::GetAtt"].([]any); ok && len(l) > 0 {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

// subTarget returns x from {"Fn::Sub": "<prefix>${x}"} (or a plain string).
func subTarget(v any, prefix string) string {
	s, _ := v.(string)
	if m, ok := v.(map[string]any); ok {
		s, _ = m["Fn::Sub"].(string)
	}
	s = strings.TrimPrefix(s, prefix)
	return strings.TrimSuffix(strings.TrimPrefix(s, "${"), "}")
}

// arnFunction finds the function in a Lambda integration URI
// (!Sub "...functions/${XxxFunction.Arn}/invocations").
func arnFunction(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["Fn::Sub"].(string)
	if i := strings.Index(s, "functions/${"); i >= 0 {
		rest := s[i+len("functions/${"):]
		if j := strings.IndexAny(rest, ".}"); j >= 0 {
			return rest[:j]
		}
	}
	return refTarget(v)
}

func strs(l []any) []string {
	var out []string
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// unquote removes the single quotes CloudFormation wants around static
// header values ("'*'" -> "*").
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
