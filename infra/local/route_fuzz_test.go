package local

import (
	"encoding/json"
	"testing"
)

// FuzzSelectRoute: $request.body.action selection picks a route exactly
// when the frame is one JSON value whose "action" is a non-empty string,
// and then that string; a frame carrying only that action selects the
// same route.
func FuzzSelectRoute(f *testing.F) {
	for _, s := range []string{`{"action":"send"}`, `{"action":"$connect"}`, `{"action":""}`, `{"action":1}`,
		`{"Action":"send"}`, `{"action":"a","action":"b"}`, `[{"action":"send"}]`, `"send"`, `{"action":"s\u0000"}`,
		`{"action":"send"} {}`, "{\"action\":\"\xff\"}", `{"action":{"action":"x"}}`} {
		f.Add([]byte(s))
	}
	path := []string{"action"}
	f.Fuzz(func(t *testing.T, frame []byte) {
		key, ok := selectRoute(frame, path)
		var v map[string]any
		isObj := json.Unmarshal(frame, &v) == nil && v != nil
		want, _ := v["action"].(string)
		if ok != (isObj && want != "") || key != want && ok {
			t.Fatalf("selectRoute(%q) = %q, %v; frame's action %q (object %v)", frame, key, ok, want, isObj)
		}
		if !ok {
			return
		}
		again, err := json.Marshal(map[string]string{"action": key})
		if err != nil {
			t.Fatal(err)
		}
		if k2, ok2 := selectRoute(again, path); !ok2 || k2 != key {
			t.Fatalf("route %q re-encoded selects %q, %v", key, k2, ok2)
		}
	})
}
