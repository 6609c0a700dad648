package moderation

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// screenJSON applies m to every string value of a payload's JSON data
// (not to keys: a masked key could collide with another). Data is re-encoded only when a mask changed it, so a clean
// payload is stored byte for byte as sent.
func screenJSON(m *Matcher, data json.RawMessage) (json.RawMessage, bool, error) {
	if len(data) == 0 || m.re == nil || !bytes.ContainsAny(data, `"`) {
		return data, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep numbers exactly as sent
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("moderation: decode payload: %w", err)
	}
	out, hit := screenValue(m, v)
	if !hit {
		return data, false, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, false, fmt.Errorf("moderation: encode payload: %w", err)
	}
	return b, true, nil
}

func screenValue(m *Matcher, v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return m.Apply(x)
	case []any:
		hit := false
		for i, e := range x {
			var h bool
			x[i], h = screenValue(m, e)
			hit = hit || h
		}
		return x, hit
	case map[string]any:
		hit := false
		for k, e := range x {
			var h bool
			x[k], h = screenValue(m, e)
			hit = hit || h
		}
		return x, hit
	}
	return v, false
}
