package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"gopkg.in/yaml.v3"

	"github.com/tokenim/tokenim/shared/logging"
)

// specDeprecations lists what an OpenAPI document marks `deprecated:
// true`, as Deprecations keys: "METHOD /path" for an operation, plus
// " field" for a request-body property (following one $ref to
// components/schemas) or " ?name" for a parameter.
func specDeprecations(t *testing.T, doc []byte) []string {
	t.Helper()
	type schema struct {
		Ref        string `yaml:"$ref"`
		Properties map[string]struct {
			Deprecated bool `yaml:"deprecated"`
		} `yaml:"properties"`
	}
	type param struct {
		Name       string `yaml:"name"`
		Deprecated bool   `yaml:"deprecated"`
	}
	var spec struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			Schemas map[string]schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range spec.Paths {
		for method, node := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			var op struct {
				Deprecated  bool    `yaml:"deprecated"`
				Parameters  []param `yaml:"parameters"`
				RequestBody struct {
					Content map[string]struct {
						Schema schema `yaml:"schema"`
					} `yaml:"content"`
				} `yaml:"requestBody"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			key := strings.ToUpper(method) + " " + path
			if op.Deprecated {
				out = append(out, key)
			}
			for _, p := range op.Parameters {
				if p.Deprecated {
					out = append(out, key+" ?"+p.Name)
				}
			}
			if s, ok := op.RequestBody.Content["application/json"]; ok {
				sc := s.Schema
				if name, ok := strings.CutPrefix(sc.Ref, "#/components/schemas/"); ok {
					sc = spec.Components.Schemas[name]
				}
				for field, p := range sc.Properties {
					if p.Deprecated {
						out = append(out, key+" "+field)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

var deprecationHeader = regexp.MustCompile(`^@[0-9]+$`)

// checkDeprecations holds a spec's `deprecated: true` marks and a
// deprecation table to each other: both list the same things, and a
// request using each one is answered Deprecation, Sunset and Link.
func checkDeprecations(t *testing.T, doc []byte, table map[string][]Deprecation) []string {
	t.Helper()
	var problems []string
	inTable := map[string]Deprecation{}
	for route, list := range table {
		for _, d := range list {
			k := route
			if d.Field != "" {
				k += " " + d.Field
			}
			inTable[k] = d
		}
	}
	inSpec := map[string]bool{}
	for _, k := range specDeprecations(t, doc) {
		inSpec[k] = true
		if _, ok := inTable[k]; !ok {
			problems = append(problems, k+": deprecated in the spec, not in httpapi.Deprecations (no headers are sent)")
		}
	}
	for k, d := range inTable {
		if !inSpec[k] {
			problems = append(problems, k+": in httpapi.Deprecations, not marked deprecated: true in the spec")
		}
		if d.Successor == "" || d.Sunset.Sub(d.Since) < MinSunset {
			problems = append(problems, fmt.Sprintf("%s: needs a successor and a sunset at least %v after it was deprecated", k, MinSunset))
		}
		// A request that uses it, through the handler, as on Lambda.
		route, field, _ := strings.Cut(k, " /")
		method, resource := route, "/"+field
		field = ""
		if i := strings.Index(resource, " "); i >= 0 {
			resource, field = resource[:i], resource[i+1:]
		}
		h := New(logging.NewTo(io.Discard, "test"), Route{Method: method, Resource: resource, Public: true,
			Handler: func(context.Context, *Request) (Response, error) { return JSON(200, map[string]any{}), nil }})
		h.deprecations = table
		ev := events.APIGatewayProxyRequest{HTTPMethod: method, Resource: resource, Path: resource,
			Headers: map[string]string{"Content-Type": "application/json"}}
		switch {
		case strings.HasPrefix(field, "?"):
			ev.QueryStringParameters = map[string]string{field[1:]: "x"}
		case field != "":
			ev.Body = `{"` + field + `":"x"}`
		}
		resp, _ := invoke(t, h, ev)
		got := resp.Headers
		sunset, err := http.ParseTime(got["Sunset"])
		if !deprecationHeader.MatchString(got["Deprecation"]) || err != nil || !sunset.Equal(d.Sunset.Truncate(time.Second)) ||
			!strings.Contains(got["Link"], "<"+d.Successor+`>; rel="successor-version"`) {
			problems = append(problems, fmt.Sprintf("%s: answered Deprecation %q, Sunset %q, Link %q", k, got["Deprecation"], got["Sunset"], got["Link"]))
		}
	}
	sort.Strings(problems)
	return problems
}

// TestSpecDeprecationsAnswerHeaders: every `deprecated: true` in
// docs/openapi.yaml is in Deprecations and answered with the headers, and
// nothing else is.
func TestSpecDeprecationsAnswerHeaders(t *testing.T) {
	doc, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkDeprecations(t, doc, Deprecations) {
		t.Error(p)
	}
}

// TestDeprecationCheckCanFail runs the same check on specs and tables
// that disagree, so TestSpecDeprecationsAnswerHeaders is known to catch
// each way of getting it wrong.
func TestDeprecationCheckCanFail(t *testing.T) {
	since := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	good := Deprecation{Since: since, Sunset: since.AddDate(1, 0, 0), Successor: "/v1/new"}
	spec := func(opMark, fieldMark, paramMark string) []byte {
		return []byte(`openapi: 3.1.0
paths:
  /v1/old:
    post:` + opMark + `
      parameters:
        - {name: mode, in: query` + paramMark + `}
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Old"}
components:
  schemas:
    Old:
      type: object
      properties:
        nick: {type: string` + fieldMark + `}
`)
	}
	withField := func(d Deprecation, f string) Deprecation { d.Field = f; return d }
	tests := []struct {
		name  string
		doc   []byte
		table map[string][]Deprecation
		want  string // "" = no problem
	}{
		{name: "route deprecated in both", doc: spec("\n      deprecated: true", "", ""), table: map[string][]Deprecation{"POST /v1/old": {good}}},
		{name: "field deprecated in both", doc: spec("", ", deprecated: true", ""), table: map[string][]Deprecation{"POST /v1/old": {withField(good, "nick")}}},
		{name: "parameter deprecated in both", doc: spec("", "", ", deprecated: true"), table: map[string][]Deprecation{"POST /v1/old": {withField(good, "?mode")}}},
		{name: "route deprecated in the spec only", doc: spec("\n      deprecated: true", "", ""), want: "POST /v1/old: deprecated in the spec, not in"},
		{name: "field deprecated in the spec only", doc: spec("", ", deprecated: true", ""), want: "POST /v1/old nick: deprecated in the spec"},
		{name: "in the table only", doc: spec("", "", ""), table: map[string][]Deprecation{"POST /v1/old": {good}}, want: "not marked deprecated: true"},
		{name: "sunset too soon", doc: spec("\n      deprecated: true", "", ""),
			table: map[string][]Deprecation{"POST /v1/old": {{Since: since, Sunset: since.AddDate(0, 1, 0), Successor: "/v1/new"}}}, want: "needs a successor and a sunset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(checkDeprecations(t, tt.doc, tt.table), "\n")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant %q", got, tt.want)
			}
		})
	}
}

// The headers' exact form (RFC 9745: a structured-field Date, @ and
// seconds; RFC 8594: an HTTP-date), on errors too, and only when the
// deprecated field is used.
func TestDeprecationHeaders(t *testing.T) {
	since := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	table := map[string][]Deprecation{"POST /v1/old": {{Since: since, Sunset: time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC), Successor: "/v1/new", Field: "nick"}}}
	h := New(logging.NewTo(io.Discard, "test"), Route{Method: "POST", Resource: "/v1/old", Public: true,
		Handler: func(_ context.Context, r *Request) (Response, error) {
			var v map[string]any
			return JSON(200, v), r.DecodeJSON(&v)
		}})
	h.deprecations = table
	tests := []struct {
		name, body string
		want       map[string]string
	}{
		{"field used", `{"nick":"a"}`, map[string]string{"Deprecation": "@1798761600", "Sunset": "Thu, 01 Jul 2027 00:00:00 GMT", "Link": `</v1/new>; rel="successor-version"`}},
		{"field used, request refused", `{"nick":"a","nick":"b"}`, map[string]string{"Deprecation": "@1798761600"}},
		{"field not used", `{"other":"a"}`, map[string]string{"Deprecation": "", "Sunset": "", "Link": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := invoke(t, h, events.APIGatewayProxyRequest{HTTPMethod: "POST", Resource: "/v1/old", Path: "/v1/old",
				Headers: map[string]string{"Content-Type": "application/json"}, Body: tt.body})
			for k, v := range tt.want {
				if resp.Headers[k] != v {
					t.Errorf("%s: %q, want %q (status %d)", k, resp.Headers[k], v, resp.StatusCode)
				}
			}
		})
	}
}
