package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/events"
)

var (
	jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")
	eventID   = regexp.MustCompile(`^evt_[0-9a-f]{32}$`)
	enumLine  = regexp.MustCompile(`types: \{type: array[^\n]*enum: \[([^\]]*)\]`)
)

// TestDocsListEveryType: docs/events.md has, for every type in
// events.Types (and in its "Event types" table), at least one example of
// its own, and every example in its events' part is a valid envelope (id,
// version, time) whose data decodes into the type's schema (the Go type:
// no unknown field) and carries every field the schema always sends (no
// omitempty). Every type has a schema; docs/openapi.yaml's webhook
// subscription enums list exactly events.Types.
func TestDocsListEveryType(t *testing.T) {
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := map[events.Type]int{}
	// The events' part (the pre-send hook's request further down is not
	// an event).
	types := doc[:bytes.Index(doc, []byte("\n## Example EventBridge rule"))]
	for _, m := range jsonBlock.FindAllSubmatch(types, -1) {
		dec := json.NewDecoder(bytes.NewReader(m[1]))
		for {
			var env struct {
				ID      string          `json:"id"`
				Type    events.Type     `json:"type"`
				Version int             `json:"version"`
				Time    time.Time       `json:"time"`
				Data    json.RawMessage `json:"data"`
			}
			err := dec.Decode(&env)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("a json block of docs/events.md does not parse: %v\n%s", err, m[1])
			}
			if env.Type == "" {
				break // not an event (a rule, a message body)
			}
			if err := checkExample(env.ID, env.Type, env.Version, env.Time, env.Data); err != nil {
				t.Errorf("example %s %s: %v", env.Type, env.ID, err)
			}
			examples[env.Type]++
		}
	}
	table := string(doc[bytes.Index(doc, []byte("## Event types")):])
	table = table[:strings.Index(table, "\n### ")]
	for _, typ := range events.Types {
		if events.NewData(typ) == nil {
			t.Errorf("%s has no schema (events.NewData)", typ)
		}
		if examples[typ] == 0 {
			t.Errorf("docs/events.md has no example of %s", typ)
		}
		if !strings.Contains(table, "`"+string(typ)+"`") {
			t.Errorf("docs/events.md's Event types table does not list %s", typ)
		}
	}
	for typ := range examples {
		if !events.Known(typ) {
			t.Errorf("docs/events.md has an example of %s, which is not a type", typ)
		}
	}
	api, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	enums := enumLine.FindAllSubmatch(api, -1)
	if len(enums) == 0 {
		t.Fatal("docs/openapi.yaml: no webhook types enum found")
	}
	want := make([]string, len(events.Types))
	for i, typ := range events.Types {
		want[i] = string(typ)
	}
	for _, e := range enums {
		got := strings.Split(strings.ReplaceAll(string(e[1]), " ", ""), ",")
		if !slices.Equal(got, want) {
			t.Errorf("docs/openapi.yaml types enum %v, want events.Types %v", got, want)
		}
	}
}

// checkExample validates one documented event.
func checkExample(id string, typ events.Type, version int, at time.Time, data json.RawMessage) error {
	if !eventID.MatchString(id) {
		return errors.New("id is not evt_ and 32 hex digits")
	}
	if version != events.SchemaVersion || at.IsZero() {
		return errors.New("version or time missing")
	}
	v := events.NewData(typ)
	if v == nil {
		return errors.New("unknown type")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	st := reflect.TypeOf(v).Elem()
	for i := range st.NumField() {
		tag := st.Field(i).Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" || strings.Contains(opts, "omitempty") {
			continue
		}
		if _, ok := fields[name]; !ok {
			return errors.New("data lacks " + name + ", which is always sent")
		}
	}
	return nil
}
