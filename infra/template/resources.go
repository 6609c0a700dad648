package template

import (
	"sort"
	"strings"
)

// Table is an AWS::DynamoDB::Table as the emulator needs it.
type Table struct {
	LogicalID            string
	KeySchema            []KeyElement
	AttributeDefinitions []Attribute
	GSIs                 []GSI
	TTLAttribute         string
	// StreamViewType is StreamSpecification.StreamViewType ("" = no stream).
	StreamViewType string
}

// KeyElement is one key schema element.
type KeyElement struct{ Name, Type string } // Type HASH or RANGE

// Attribute is one attribute definition.
type Attribute struct{ Name, Type string } // Type S, N or B

// GSI is a global secondary index.
type GSI struct {
	Name           string
	KeySchema      []KeyElement
	ProjectionType string
	NonKeyAttrs    []string
}

// Tables returns the template's DynamoDB tables.
func (t *Template) Tables() []Table {
	var out []Table
	for _, r := range t.OfType("AWS::DynamoDB::Table") {
		p := r.Properties
		tb := Table{LogicalID: r.Name, KeySchema: keys(List(p, "KeySchema"))}
		for _, a := range List(p, "AttributeDefinitions") {
			am, _ := a.(map[string]any)
			tb.AttributeDefinitions = append(tb.AttributeDefinitions, Attribute{Str(am, "AttributeName"), Str(am, "AttributeType")})
		}
		for _, g := range List(p, "GlobalSecondaryIndexes") {
			gm, _ := g.(map[string]any)
			proj := Map(gm, "Projection")
			gsi := GSI{Name: Str(gm, "IndexName"), KeySchema: keys(List(gm, "KeySchema")), ProjectionType: Str(proj, "ProjectionType")}
			for _, a := range List(proj, "NonKeyAttributes") {
				if s, ok := a.(string); ok {
					gsi.NonKeyAttrs = append(gsi.NonKeyAttrs, s)
				}
			}
			tb.GSIs = append(tb.GSIs, gsi)
		}
		if ttl := Map(p, "TimeToLiveSpecification"); ttl != nil && ttl["Enabled"] == true {
			tb.TTLAttribute = Str(ttl, "AttributeName")
		}
		tb.StreamViewType = Str(Map(p, "StreamSpecification"), "StreamViewType")
		out = append(out, tb)
	}
	return out
}

func keys(l []any) []KeyElement {
	var out []KeyElement
	for _, k := range l {
		km, _ := k.(map[string]any)
		out = append(out, KeyElement{Str(km, "AttributeName"), Str(km, "KeyType")})
	}
	return out
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID         string
	VisibilityTimeout int
	RetentionSeconds  int
	// DeadLetterQueue is the logical id of the redrive target ("" if none).
	DeadLetterQueue string
	MaxReceiveCount int
	// FIFO queues (FifoQueue: true): their names end in .fifo; the
	// deduplication scope and throughput limit as the template sets them
	// ("" if not set).
	FIFO                bool
	DeduplicationScope  string
	FifoThroughputLimit string
}

// Queues returns the template's queues, dead-letter queues first so a
// redrive policy can point at an existing queue.
func (t *Template) Queues() []Queue {
	var out []Queue
	for _, r := range t.OfType("AWS::SQS::Queue") {
		p := r.Properties
		q := Queue{LogicalID: r.Name, VisibilityTimeout: Int(p, "VisibilityTimeout", 30), RetentionSeconds: Int(p, "MessageRetentionPeriod", 345600),
			FIFO: p["FifoQueue"] == true || p["FifoQueue"] == "true", DeduplicationScope: Str(p, "DeduplicationScope"), FifoThroughputLimit: Str(p, "FifoThroughputLimit")}
		if rp := Map(p, "RedrivePolicy"); rp != nil {
			q.MaxReceiveCount = Int(rp, "maxReceiveCount", 0)
			if ga := Map(rp, "deadLetterTargetArn"); ga != nil {
				if l, ok := ga["Fn::GetAtt"].([]any); ok && len(l) > 0 {
					q.DeadLetterQueue, _ = l[0].(string)
				}
			}
		}
		out = append(out, q)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DeadLetterQueue == "" && out[j].DeadLetterQueue != "" })
	return out
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID   string
	Dir         string // functions/<dir>: the logical id, lower-cased, without "Function"
	Timeout     int
	MemorySize  int
	Environment map[string]any // merged Globals + function; values unresolved
	Events      map[string]Event
}

// Event is one SAM event source of a function.
type Event struct {
	Name       string
	Type       string // Api, SQS, ...
	Properties map[string]any
}

// Functions returns the template's functions with Globals applied.
func (t *Template) Functions() []Function {
	g := Map(t.Globals, "Function")
	var out []Function
	for _, r := range t.OfType("AWS::Serverless::Function") {
		p := r.Properties
		f := Function{LogicalID: r.Name, Dir: strings.ToLower(strings.TrimSuffix(r.Name, "Function")),
			Timeout: Int(p, "Timeout", Int(g, "Timeout", 3)), MemorySize: Int(p, "MemorySize", Int(g, "MemorySize", 128)),
			Environment: map[string]any{}, Events: map[string]Event{}}
		for k, v := range Map(Map(g, "Environment"), "Variables") {
			f.Environment[k] = v
		}
		for k, v := range Map(Map(p, "Environment"), "Variables") {
			f.Environment[k] = v
		}
		for name, e := range Map(p, "Events") {
			em, _ := e.(map[string]any)
			f.Events[name] = Event{Name: name, Type: Str(em, "Type"), Properties: Map(em, "Properties")}
		}
		out = append(out, f)
	}
	return out
}

// RestRoute is one REST route of the template.
type RestRoute struct {
	Method   string // upper case
	Path     string // resource path, e.g. /v1/users/{user_id}
	Function string // logical id
	Public   bool   // Auth.Authorizer: NONE
}

// Key is "METHOD /path", the same key httpapi routes use.
func (r RestRoute) Key() string { return r.Method + " " + r.Path }

// RestRoutes returns every Api event of every function, sorted.
func (t *Template) RestRoutes() []RestRoute {
	var out []RestRoute
	for _, f := range t.Functions() {
		for _, e := range f.Events {
			if e.Type != "Api" {
				continue
			}
			rr := RestRoute{Method: strings.ToUpper(Str(e.Properties, "Method")), Path: Str(e.Properties, "Path"), Function: f.LogicalID}
			rr.Public = Str(Map(e.Properties, "Auth"), "Authorizer") == "NONE"
			out = append(out, rr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// RestRoutesOf returns the route keys served by one function.
func (t *Template) RestRoutesOf(logicalID string) []string {
	var out []string
	for _, r := range t.RestRoutes() {
		if r.Function == logicalID {
			out = append(out, r.Key())
		}
	}
	return out
}
