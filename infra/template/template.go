// Package template reads template.yaml, the single source of truth for
// TokenIM's functions, routes, tables and queues. The test harness creates
// the template's tables and queues in the emulator from it, and the local
// stack (infra/local) serves the template's routes and triggers from it:
// nothing keeps a second list.
package template

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed CloudFormation/SAM template. Intrinsic functions in
// short form (!Ref, !GetAtt, !Sub, ...) are turned into their long form
// ({"Ref": x}, {"Fn::GetAtt": [a, b]}, ...).
type Template struct {
	Globals    map[string]any
	Parameters map[string]map[string]any
	Conditions map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
}

// Resource is one resource.
type Resource struct {
	Name       string
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	Condition  string // the resource exists only if this condition holds ("" = always)
	// DeletionPolicy and UpdateReplacePolicy ("" = CloudFormation's
	// default, Delete) say whether a stack deletion or a replacement keeps
	// the resource's data.
	DeletionPolicy      string
	UpdateReplacePolicy string
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return Parse(b)
}

// RepoRoot finds the repository root (the directory holding template.yaml)
// from this source file's location, for tests run from any package.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// LoadDefault loads <repo>/template.yaml.
func LoadDefault() (*Template, error) { return Load(filepath.Join(RepoRoot(), "template.yaml")) }

// Parse parses template bytes.
func Parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	doc, err := convert(&root)
	if err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template: top level is not a mapping")
	}
	t := &Template{Resources: map[string]Resource{}, Parameters: map[string]map[string]any{}}
	t.Globals, _ = m["Globals"].(map[string]any)
	t.Outputs, _ = m["Outputs"].(map[string]any)
	t.Conditions, _ = m["Conditions"].(map[string]any)
	if ps, ok := m["Parameters"].(map[string]any); ok {
		for k, v := range ps {
			t.Parameters[k], _ = v.(map[string]any)
		}
	}
	rs, _ := m["Resources"].(map[string]any)
	for name, v := range rs {
		rm, _ := v.(map[string]any)
		r := Resource{Name: name}
		r.Type, _ = rm["Type"].(string)
		r.Properties, _ = rm["Properties"].(map[string]any)
		r.Metadata, _ = rm["Metadata"].(map[string]any)
		r.Condition, _ = rm["Condition"].(string)
		r.DeletionPolicy, _ = rm["DeletionPolicy"].(string)
		r.UpdateReplacePolicy, _ = rm["UpdateReplacePolicy"].(string)
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		t.Resources[name] = r
	}
	return t, nil
}

var shortTags = map[string]string{
	"!Ref": "Ref", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join",
	"!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Condition": "Condition", "!Base64": "Fn::Base64",
}

func convert(n *yaml.Node) (any, error) {
	var v any
	var err error
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return convert(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.ScalarNode:
		// Custom tags (!Ref, !Sub...) keep their text; standard ones
		// (!!int, !!bool...) decode to their Go types.
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value
		} else if err = n.Decode(&v); err != nil {
			return nil, fmt.Errorf("template: line %d: %w", n.Line, err)
		}
	}
	if long, ok := shortTags[n.Tag]; ok {
		if long == "Fn::GetAtt" {
			if s, ok := v.(string); ok {
				parts := strings.SplitN(s, ".", 2)
				v = []any{parts[0], parts[len(parts)-1]}
			}
		}
		return map[string]any{long: v}, nil
	}
	return v, nil
}

// OfType returns the resources of a type, sorted by name.
func (t *Template) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range t.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Str returns a string property (or "").
func Str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// Map returns a mapping property (or nil).
func Map(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }

// List returns a sequence property (or nil).
func List(m map[string]any, k string) []any { v, _ := m[k].([]any); return v }

// Int returns an integer property (or def).
func Int(m map[string]any, k string, def int) int {
	switch v := m[k].(type) {
	case int:
		return v
	case float64:
		return int(v)
	case string: // CloudFormation accepts numbers as strings ("10")
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}
