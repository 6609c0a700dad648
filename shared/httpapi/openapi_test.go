package httpapi_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/users"
	"gopkg.in/yaml.v3"
)

func specPath(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "openapi.yaml")
}

// TestOpenAPIListsGatewayResponses: every route is throttled and sits behind
// API Gateway, and every JSON route caps its body, so every operation lists
// 429, 502 and 504, and every operation with a body lists 413 (issue 12,
// defect 8).
func TestOpenAPIListsGatewayResponses(t *testing.T) {
	b, err := os.ReadFile(specPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for path, items := range spec.Paths {
		for method, node := range items {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string         `yaml:"operationId"`
				RequestBody any            `yaml:"requestBody"`
				Responses   map[string]any `yaml:"responses"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops++
			want := []string{"429", "502", "504"}
			if op.RequestBody != nil {
				want = append(want, "413")
			}
			for _, code := range want {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s %s (%s) does not list %s", strings.ToUpper(method), path, op.OperationID, code)
				}
			}
		}
	}
	if ops < 20 {
		t.Fatalf("found %d operations; the spec did not parse as expected", ops)
	}
}

// schemaCheck validates instances against schemas of docs/openapi.yaml with
// Python's jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1), which
// comes with openapi-spec-validator; Go's regexp cannot run the
// backreference in ConversationID's rule.
const schemaCheck = `
import json, sys, yaml, jsonschema
spec = yaml.safe_load(open(sys.argv[1]))
out = []
for c in json.load(sys.stdin):
    root = dict(spec)
    root["$ref"] = "#" + c["pointer"]
    try:
        v = jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())
        out.append(v.is_valid(c["instance"]))
    except Exception as e:  # e.g. the pointer names no schema
        out.append(type(e).__name__)
json.dump(out, sys.stdout)
`

// TestOpenAPISchemasHoldServerRules: the schemas refuse what the server
// refuses and allow what it allows, for each rule issue 12 found only in
// prose (defect 11), the null rule (6) and the length unit (7).
func TestOpenAPISchemasHoldServerRules(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed (openapi-spec-validator brings jsonschema)")
	}
	body := func(path, method string) string {
		return "/paths/" + strings.ReplaceAll(path, "/", "~1") + "/" + method + "/requestBody/content/application~1json/schema"
	}
	schema := func(name string) string { return "/components/schemas/" + name }
	sync, verify := body("/v1/sync", "post"), body("/v1/jobs/verify", "post")
	member := body("/v1/groups/{group_id}/members/{user_id}", "patch")
	tests := []struct {
		name, pointer, instance string
		valid                   bool
	}{
		{"dm of two users", schema("ConversationID"), `"dm:a:b"`, true},
		{"dm of one user twice", schema("ConversationID"), `"dm:a:a"`, false},
		{"dm whose ids share a prefix", schema("ConversationID"), `"dm:a:ab"`, true},
		{"group conversation", schema("ConversationID"), `"g:team"`, true},
		{"sync key not a conversation id", sync, `{"since":{"nope":1}}`, false},
		{"sync key dm of one user", sync, `{"since":{"dm:a:a":1}}`, false},
		{"sync key ok", sync, `{"since":{"dm:a:b":1,"g:x":0}}`, true},
		{"sync seq beyond the largest", sync, `{"since":{"g:x":1000000000000}}`, false},
		{"sync seq written 3.0", sync, `{"since":{"g:x":3.0}}`, true},
		{"send without target", schema("SendMessage"), `{"text":"x"}`, false},
		{"send with two targets", schema("SendMessage"), `{"to_user":"a","to_group":"b","text":"x"}`, false},
		{"send without text or payload", schema("SendMessage"), `{"to_user":"a"}`, false},
		{"send with empty text", schema("SendMessage"), `{"to_user":"a","text":""}`, false},
		{"send text", schema("SendMessage"), `{"to_user":"a","text":"x"}`, true},
		{"send payload", schema("SendMessage"), `{"conversation_id":"g:x","payload":{"type":"t"}}`, true},
		{"send to dm of one user", schema("SendMessage"), `{"conversation_id":"dm:a:a","text":"x"}`, false},
		{"verify neither list", verify, `{}`, false},
		{"verify both lists", verify, `{"user_ids":["a"],"group_ids":["b"]}`, false},
		{"verify empty list", verify, `{"user_ids":[]}`, false},
		{"verify one list", verify, `{"group_ids":["b"]}`, true},
		{"avatar javascript", schema("UserCreate"), `{"user_id":"a","avatar_url":"javascript:alert(1)"}`, false},
		{"avatar ftp", schema("GroupCreate"), `{"avatar_url":"ftp://a.b/c"}`, false},
		{"avatar with a space", schema("UserUpdate"), `{"avatar_url":"https://a.b/x y"}`, false},
		{"avatar with é", schema("GroupUpdate"), `{"avatar_url":"https://a.b/caf\u00e9"}`, false},
		{"avatar too long", schema("UserCreate"), `{"user_id":"a","avatar_url":"https://a.b/` + strings.Repeat("a", 2037) + `"}`, false},
		{"avatar 2048 characters", schema("UserCreate"), `{"user_id":"a","avatar_url":"https://a.b/` + strings.Repeat("a", 2036) + `"}`, true},
		{"avatar empty", schema("UserCreate"), `{"user_id":"a","avatar_url":""}`, true},
		{"avatar cleared", schema("UserUpdate"), `{"avatar_url":null}`, true},
		{"null body", schema("UserCreate"), `null`, false},
		{"null where not nullable", schema("GroupCreate"), `{"name":null}`, false},
		{"ttl written 3600.0", body("/v1/users/{user_id}/tokens", "post"), `{"ttl_seconds":3600.0}`, true},
		{"credential name 128 é", body("/v1/credentials", "post"), `{"name":"` + strings.Repeat("é", 128) + `"}`, true},
		{"credential name 129 é", body("/v1/credentials", "post"), `{"name":"` + strings.Repeat("é", 129) + `"}`, false},
		{"metadata value 1024 😀", schema("Metadata"), `{"k":"` + strings.Repeat("😀", 1024) + `"}`, true},
		{"send as sender_id and the system", schema("SendMessage"), `{"to_user":"a","text":"x","sender_id":"b","system":true}`, false},
		{"send as sender_id, system false", schema("SendMessage"), `{"to_user":"a","text":"x","sender_id":"b","system":false}`, true},
		{"send as the system", schema("SendMessage"), `{"conversation_id":"g:x","text":"x","system":true}`, true},
		{"system message to_user", schema("SendMessage"), `{"to_user":"a","text":"x","system":true}`, false},
		{"member made owner and muted", member, `{"role":"owner","muted":false}`, false},
		{"member made admin and muted", member, `{"role":"admin","muted":true}`, true},
		{"member made owner", member, `{"role":"owner"}`, true},
		{"import no users", body("/v1/jobs/users", "post"), `[]`, false},
		{"import no groups", body("/v1/jobs/groups", "post"), `[]`, false},
		{"import one user", body("/v1/jobs/users", "post"), `[{"user_id":"a"}]`, true},
		{"upsert repeating the path's user_id", body("/v1/users/{user_id}", "put"), `{"user_id":"bob","nickname":"B"}`, true},
		{"upsert with an unknown field", body("/v1/users/{user_id}", "put"), `{"role":"admin"}`, false},
	}
	type check struct {
		Pointer  string          `json:"pointer"`
		Instance json.RawMessage `json:"instance"`
	}
	in := make([]check, len(tests))
	for i, tc := range tests {
		in[i] = check{tc.pointer, json.RawMessage(tc.instance)}
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", schemaCheck, specPath(t))
	cmd.Stdin = strings.NewReader(string(stdin))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3 jsonschema: %v\n%s", err, stderr)
	}
	var got []any // a bool, or the name of the exception the case raised
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(tests) {
		t.Fatalf("python3 answered %q (%v)", out, err)
	}
	for i, tc := range tests {
		if got[i] != tc.valid {
			t.Errorf("%s: %s against %s: valid = %v, want %v", tc.name, shorten(tc.instance), tc.pointer, got[i], tc.valid)
		}
	}
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// TestAvatarURLPatternIsTheServers: the spec's AvatarURL pattern is the
// one the server matches, so a client validating against the spec and the
// server never disagree on an avatar URL.
func TestAvatarURLPatternIsTheServers(t *testing.T) {
	b, err := os.ReadFile(specPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas struct {
				AvatarURL struct {
					AnyOf []struct {
						Pattern string `yaml:"pattern"`
					} `yaml:"anyOf"`
				} `yaml:"AvatarURL"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, s := range spec.Components.Schemas.AvatarURL.AnyOf {
		if s.Pattern != "" {
			patterns = append(patterns, s.Pattern)
		}
	}
	if len(patterns) != 1 || patterns[0] != users.AvatarURLPattern {
		t.Fatalf("spec AvatarURL patterns %q, server %q", patterns, users.AvatarURLPattern)
	}
}
