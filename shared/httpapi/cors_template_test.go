package httpapi_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/httpapi"
)

// TestTemplateCORSMatches: template.yaml gives a browser on another origin
// what the functions give it: the parameter CorsAllowOrigin (default "*")
// is the preflight's origin (Cors), every REST function's
// CORS_ALLOW_ORIGIN, and the origin of every GatewayResponse (so an
// authorizer's 401, a throttle's 429 or a 5xx is readable too), which
// also expose httpapi.ExposeHeaders.
func TestTemplateCORSMatches(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range corsProblems(tmpl) {
		t.Error(p)
	}
}

func corsProblems(tmpl *template.Template) []string {
	var out []string
	origin := map[string]any{"Fn::Sub": "'${CorsAllowOrigin}'"}
	expose := "'" + strings.Join(httpapi.ExposeHeaders, ", ") + "'"
	if d := tmpl.Parameters["CorsAllowOrigin"]["Default"]; d != httpapi.DefaultAllowOrigin {
		out = append(out, fmt.Sprintf("parameter CorsAllowOrigin: default %v, want %s", d, httpapi.DefaultAllowOrigin))
	}
	apis := tmpl.OfType("AWS::Serverless::Api")
	if len(apis) != 1 {
		return append(out, "want one AWS::Serverless::Api")
	}
	p := apis[0].Properties
	cors := template.Map(p, "Cors")
	if !reflect.DeepEqual(cors["AllowOrigin"], origin) {
		out = append(out, "Cors.AllowOrigin is not !Sub \"'${CorsAllowOrigin}'\"")
	}
	for _, h := range []string{"Authorization", "Content-Type", "Idempotency-Key"} {
		if !strings.Contains(template.Str(cors, "AllowHeaders"), h) {
			out = append(out, "Cors.AllowHeaders lacks "+h)
		}
	}
	responses := template.Map(p, "GatewayResponses")
	for _, typ := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
		if responses[typ] == nil {
			out = append(out, "GatewayResponses lacks "+typ)
		}
	}
	for typ, v := range responses {
		gr, _ := v.(map[string]any)
		h := template.Map(template.Map(gr, "ResponseParameters"), "Headers")
		if !reflect.DeepEqual(h["Access-Control-Allow-Origin"], origin) {
			out = append(out, "GatewayResponses."+typ+": Access-Control-Allow-Origin is not !Sub \"'${CorsAllowOrigin}'\"")
		}
		if got := template.Str(h, "Access-Control-Expose-Headers"); got != expose {
			out = append(out, "GatewayResponses."+typ+": Access-Control-Expose-Headers "+got+", want "+expose)
		}
	}
	rest := map[string]bool{}
	for _, r := range tmpl.RestRoutes() {
		rest[r.Function] = true
	}
	for _, f := range tmpl.Functions() {
		if rest[f.LogicalID] && !reflect.DeepEqual(f.Environment["CORS_ALLOW_ORIGIN"], map[string]any{"Ref": "CorsAllowOrigin"}) {
			out = append(out, f.LogicalID+" serves REST routes but its CORS_ALLOW_ORIGIN is not !Ref CorsAllowOrigin")
		}
	}
	return out
}

// TestTemplateCORSCheckCanFail: the check on a template where each part
// is missing or wrong.
func TestTemplateCORSCheckCanFail(t *testing.T) {
	tmpl, err := template.Parse([]byte(`
Parameters:
  CorsAllowOrigin: {Type: String, Default: "https://one.example"}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      Cors: {AllowOrigin: "'*'", AllowHeaders: "'Authorization'"}
      GatewayResponses:
        DEFAULT_4XX:
          ResponseParameters:
            Headers:
              Access-Control-Allow-Origin: !Sub "'${CorsAllowOrigin}'"
              Access-Control-Expose-Headers: "'Location'"
        UNAUTHORIZED: {StatusCode: 401}
  ThingsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: Api, Properties: {Path: /v1/things, Method: get}}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(corsProblems(tmpl), "\n")
	for _, want := range []string{
		"parameter CorsAllowOrigin: default https://one.example",
		"Cors.AllowOrigin is not",
		"Cors.AllowHeaders lacks Idempotency-Key",
		"GatewayResponses lacks DEFAULT_5XX",
		"GatewayResponses.DEFAULT_4XX: Access-Control-Expose-Headers 'Location'",
		"GatewayResponses.UNAUTHORIZED: Access-Control-Allow-Origin is not",
		"ThingsFunction serves REST routes but its CORS_ALLOW_ORIGIN",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
