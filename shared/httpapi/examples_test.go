package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/tokenim/tokenim/shared/apierror"
)

// specExample is one example of a response in docs/openapi.yaml.
type specExample struct {
	op, status, media, name string
	pointer                 string // JSON pointer to the media type's schema
	value                   any
}

// loadSpec reads docs/openapi.yaml as plain JSON values (what a JSON
// Schema validator takes).
func loadSpec(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	// YAML maps to JSON values: a round trip through encoding/json gives
	// map[string]any and float64 numbers, as the validator expects.
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func ptrEscape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// eachOperation calls f with every operation of a spec read by loadSpec.
func eachOperation(doc map[string]any, f func(path, method, id string, op map[string]any)) {
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		for method, o := range item.(map[string]any) {
			if op, ok := o.(map[string]any); ok && method != "parameters" {
				id, _ := op["operationId"].(string)
				f(path, method, id, op)
			}
		}
	}
}

// examplesOf lists every operation's response examples, and the
// operations that lack a success or a failure example.
func examplesOf(doc map[string]any) (out []specExample, missing []string) {
	eachOperation(doc, func(path, method, id string, op map[string]any) {
		success, failure, noContent := false, false, false
		responses, _ := op["responses"].(map[string]any)
		for status, r := range responses {
			resp, _ := r.(map[string]any)
			content, _ := resp["content"].(map[string]any)
			if status[0] == '2' && content == nil {
				noContent = true // 204: nothing to show
			}
			for media, m := range content {
				mt, _ := m.(map[string]any)
				exs, _ := mt["examples"].(map[string]any)
				for name, e := range exs {
					ex, _ := e.(map[string]any)
					out = append(out, specExample{op: id, status: status, media: media, name: name, value: ex["value"],
						pointer: "#/paths/" + ptrEscape(path) + "/" + method + "/responses/" + status + "/content/" + ptrEscape(media) + "/schema"})
					if status[0] == '2' {
						success = true
					} else {
						failure = true
					}
				}
			}
		}
		if !success && !noContent {
			missing = append(missing, id+": no success example")
		}
		if !failure {
			missing = append(missing, id+": no failure example")
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].op+out[i].status+out[i].name < out[j].op+out[j].status+out[j].name })
	sort.Strings(missing)
	return out, missing
}

// checkExamples validates every example against its schema (JSON Schema
// 2020-12, OpenAPI 3.1's dialect, formats asserted) and every error
// example's code against its status (apierror, docs/errors.md).
func checkExamples(t *testing.T, doc map[string]any) []string {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	examples, problems := examplesOf(doc)
	for _, ex := range examples {
		where := fmt.Sprintf("%s %s %s example %q", ex.op, ex.status, ex.media, ex.name)
		sch, err := c.Compile("openapi.json" + ex.pointer)
		if err != nil {
			problems = append(problems, where+": schema: "+err.Error())
			continue
		}
		if err := sch.Validate(ex.value); err != nil {
			problems = append(problems, where+": "+err.Error())
		}
		if e, ok := ex.value.(map[string]any)["error"].(map[string]any); ok {
			code, _ := e["code"].(string)
			want, _ := strconv.Atoi(ex.status)
			if got := apierror.HTTPStatus(apierror.Code(code)); got != want {
				problems = append(problems, fmt.Sprintf("%s: code %q is answered %d, not %d (docs/errors.md)", where, code, got, want))
			}
		}
	}
	return problems
}

// TestOpenAPIExamplesValidate: every operation of docs/openapi.yaml has a
// success example (unless it answers 204) and a failure example, and
// every example is valid against its schema.
func TestOpenAPIExamplesValidate(t *testing.T) {
	doc := loadSpec(t, specPath(t))
	examples, _ := examplesOf(doc)
	if len(examples) < 59 { // 28 successes (3 operations answer 204) and 31 failures today
		t.Errorf("only %d examples found: is the walk still finding them?", len(examples))
	}
	for _, p := range checkExamples(t, doc) {
		t.Error(p)
	}
}

// TestOpenAPIExampleCheckCanFail: the same check on a spec with a bad
// example, a wrong status for a code and an operation without examples.
func TestOpenAPIExampleCheckCanFail(t *testing.T) {
	dir := t.TempDir()
	spec := dir + "/openapi.yaml"
	os.WriteFile(spec, []byte(`openapi: 3.1.0
paths:
  /v1/things/{id}:
    get:
      operationId: getThing
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
              examples:
                bad: {value: {"id": 7, "created_at": "yesterday"}}
        "404":
          description: nope
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
              examples:
                wrong_status: {value: {"error": {"code": "not_found", "message": "m", "request_id": "r"}}}
    delete:
      operationId: deleteThing
      responses:
        "204": {description: gone}
components:
  schemas:
    Thing:
      type: object
      required: [id]
      properties:
        id: {type: string}
        created_at: {type: string, format: date-time}
    Error:
      type: object
      required: [error]
`), 0o644)
	// The 404 example is right; make it wrong: not_found is 404, say 404 is 409.
	b, _ := os.ReadFile(spec)
	os.WriteFile(spec, bytes.Replace(b, []byte(`"404":`), []byte(`"409":`), 1), 0o644)
	got := strings.Join(checkExamples(t, loadSpec(t, spec)), "\n")
	for _, want := range []string{`getThing 200 application/json example "bad"`, "created_at", `code "not_found" is answered 404, not 409`, "deleteThing: no failure example"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
