package httpapi_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// contract is what CHANGELOG.md must mention: the names a client sees.
type contract struct {
	operations []operation // docs/openapi.yaml
	actions    []string    // docs/websocket.md, "Client frames"
	wsEvents   []string    // docs/websocket.md, "Events"
	codes      []string    // docs/errors.md
	domain     []string    // docs/events.md, "Event types"
}

type operation struct{ id, method, path string }

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	// firstCell is a table row's first cell when it names things in backticks.
	firstCell = regexp.MustCompile("^\\| *(`[^|]*`) *\\|")
)

// section returns the lines of md from the heading line equal to start up
// to the next heading of the same or a higher level.
func section(md, start string) []string {
	level := strings.Index(start, " ")
	var out []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		if line == start {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "#") {
			if l := strings.Index(line, " "); l > 0 && l <= level && strings.Trim(line[:l], "#") == "" {
				break
			}
		}
		if in {
			out = append(out, line)
		}
	}
	return out
}

// tableNames lists the backticked names in the first cell of each row of
// the first table in lines (a cell may name several: "`a`, `b`" or
// "`a` / `b`").
func tableNames(lines []string) []string {
	var out []string
	inTable := false
	for _, line := range lines {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		m := firstCell.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, n := range backticked.FindAllStringSubmatch(m[1], -1) {
			out = append(out, n[1])
		}
	}
	return out
}

func readContract(t *testing.T, spec map[string]any, websocketMD, errorsMD, eventsMD string) contract {
	t.Helper()
	var c contract
	eachOperation(spec, func(path, method, id string, _ map[string]any) {
		c.operations = append(c.operations, operation{id, strings.ToUpper(method), path})
	})
	sort.Slice(c.operations, func(i, j int) bool { return c.operations[i].id < c.operations[j].id })
	for _, line := range section(websocketMD, "## Client frames") {
		if name, ok := strings.CutPrefix(line, "### "); ok {
			c.actions = append(c.actions, strings.TrimSpace(name))
		}
	}
	c.wsEvents = tableNames(section(websocketMD, "### Events"))
	c.codes = tableNames(section(errorsMD, "# Error catalogue"))
	c.domain = tableNames(section(eventsMD, "## Event types"))
	return c
}

// changelogItems splits a changelog into its list items and paragraphs
// (a route's method and path are read within one item).
func changelogItems(md string) []string {
	var items []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			items = append(items, cur.String())
			cur.Reset()
		}
	}
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.TrimSpace(line) == "", strings.HasPrefix(line, "#"):
			flush()
			continue
		case strings.HasPrefix(line, "- "):
			flush()
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	flush()
	return items
}

// routeToken is a path as written in the changelog.
var routeToken = regexp.MustCompile(`/v1[A-Za-z0-9_{}/-]*`)

// mentionsRoute: the item names the path whole, with the method as a word
// between it and the path before it, e.g. "`GET` and `PUT
// /v1/roles/{role}`" or "`POST /v1/reports`".
func mentionsRoute(item string, op operation) bool {
	method := regexp.MustCompile(`\b` + op.method + `\b`)
	prev := 0
	for _, loc := range routeToken.FindAllStringIndex(item, -1) {
		if item[loc[0]:loc[1]] == op.path && method.MatchString(item[prev:loc[0]]) {
			return true
		}
		prev = loc[1]
	}
	return false
}

// changelogGaps lists every name of the contract that changelog does not
// mention: an operation by its operationId or its method and path, the
// rest by their name in backticks (a domain event type also by its
// family, "`member.*`"); a WebSocket action in an item that says
// "WebSocket" or "action".
func changelogGaps(c contract, changelog string) []string {
	items := changelogItems(changelog)
	named := map[string]bool{}
	// A name in backticks may be wrapped ("`DELETE\n  /v1/...`").
	for _, m := range backticked.FindAllStringSubmatch(strings.Join(strings.Fields(changelog), " "), -1) {
		named[m[1]] = true
	}
	var gaps []string
	for _, op := range c.operations {
		ok := named[op.id]
		for _, item := range items {
			ok = ok || mentionsRoute(item, op)
		}
		if !ok {
			gaps = append(gaps, fmt.Sprintf("operation %s (%s %s)", op.id, op.method, op.path))
		}
	}
	for _, a := range c.actions {
		ok := false
		for _, item := range items {
			low := strings.ToLower(item)
			ok = ok || strings.Contains(item, "`"+a+"`") && (strings.Contains(low, "websocket") || strings.Contains(low, "action"))
		}
		if !ok {
			gaps = append(gaps, "WebSocket action "+a)
		}
	}
	for _, e := range c.wsEvents {
		if !named[e] {
			gaps = append(gaps, "WebSocket event "+e)
		}
	}
	for _, code := range c.codes {
		if !named[code] {
			gaps = append(gaps, "error code "+code)
		}
	}
	for _, e := range c.domain {
		family, _, _ := strings.Cut(e, ".")
		if !named[e] && !named[family+".*"] {
			gaps = append(gaps, "domain event "+e)
		}
	}
	return gaps
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(specPath(t)), "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChangelogCoversContract: every operation of docs/openapi.yaml, every
// WebSocket action and event of docs/websocket.md, every code of
// docs/errors.md and every event type of docs/events.md is mentioned in
// CHANGELOG.md, so a contract change cannot land without its entry.
func TestChangelogCoversContract(t *testing.T) {
	c := readContract(t, loadSpec(t, specPath(t)), readDoc(t, "docs/websocket.md"),
		readDoc(t, "docs/errors.md"), readDoc(t, "docs/events.md"))
	// The walk still finds what it reads (a renamed heading would empty a list).
	if len(c.operations) < 76 || len(c.actions) < 8 || len(c.wsEvents) < 15 || len(c.codes) < 69 || len(c.domain) < 16 {
		t.Fatalf("contract walk found too little: %d operations, %d actions %v, %d WebSocket events, %d codes, %d domain events",
			len(c.operations), len(c.actions), c.actions, len(c.wsEvents), len(c.codes), len(c.domain))
	}
	for _, gap := range changelogGaps(c, readDoc(t, "CHANGELOG.md")) {
		t.Errorf("CHANGELOG.md does not mention %s: add its entry under \"Unreleased\"", gap)
	}
}

// TestChangelogCheckCanFail: the check on a changelog that lacks one of
// each kind, and one that names a path only as a prefix or a route with
// another method.
func TestChangelogCheckCanFail(t *testing.T) {
	spec := map[string]any{"paths": map[string]any{
		"/v1/things": map[string]any{
			"get":  map[string]any{"operationId": "listThings"},
			"post": map[string]any{"operationId": "createThing"},
		},
		"/v1/things/{id}": map[string]any{
			"get":    map[string]any{"operationId": "getThing"},
			"delete": map[string]any{"operationId": "deleteThing"},
		},
		"/v1/other": map[string]any{"put": map[string]any{"operationId": "putOther"}},
	}}
	ws := "## Client frames\n\n### send\n\n### wave\n\n## Server frames\n\n### Events\n\n| type | fields |\n| --- | --- |\n" +
		"| `thing.made` | x |\n| `thing.waved`, `thing.unwaved` | y |\n"
	errs := "# Error catalogue\n\n| code | HTTP |\n| --- | --- |\n| `thing_exists` | 409 |\n| `too_many_things` | 400 |\n"
	events := "## Event types\n\n| type | when |\n| --- | --- |\n| `thing.created` | c |\n| `other.made` / `other.unmade` | d |\n"
	c := readContract(t, spec, ws, errs, events)
	changelog := "## Unreleased\n\n### Added\n\n- Things: `GET /v1/things/{id}` and `createThing`;\n" +
		"  `POST /v1/things` is new. Code `thing_exists`.\n" +
		"- WebSocket action `send`, events `thing.made` and `thing.waved`. `thing.*`, `other.made`.\n" +
		"- `wave` as a word elsewhere, and `PUT /v1/other/x`.\n"
	got := strings.Join(changelogGaps(c, changelog), "\n")
	want := []string{
		"operation listThings (GET /v1/things)",          // only /v1/things/{id} has GET
		"operation deleteThing (DELETE /v1/things/{id})", // the path is there, not the method
		"operation putOther (PUT /v1/other)",             // only a longer path
		"WebSocket action wave",                          // named, but not as an action
		"WebSocket event thing.unwaved",
		"error code too_many_things",
		"domain event other.unmade",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("gaps lack %q:\n%s", w, got)
		}
	}
	if n := len(strings.Split(got, "\n")); n != len(want) {
		t.Errorf("%d gaps, want %d:\n%s", n, len(want), got)
	}
}
