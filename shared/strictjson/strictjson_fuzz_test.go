package strictjson

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

// fuzzBody has the field kinds request bodies use.
type fuzzBody struct {
	Name string            `json:"name,omitempty"`
	Seq  int64             `json:"seq,omitempty"`
	N    int32             `json:"n,omitempty"`
	F    float64           `json:"f,omitempty"`
	OK   bool              `json:"ok,omitempty"`
	Tags []string          `json:"tags,omitempty"`
	Meta map[string]string `json:"meta,omitempty"`
	Sub  *fuzzSub          `json:"sub,omitempty"`
	Any  any               `json:"any,omitempty"`
}

type fuzzSub struct {
	ID string `json:"id"`
}

// decodeCodes are the codes Decode documents (docs/errors.md).
var decodeCodes = []apierror.Code{apierror.InvalidJSON, apierror.DuplicateKey, apierror.NumberOutOfRange,
	apierror.UnknownField, apierror.ValidationFailed}

// FuzzDecode: every body is either refused with a documented code, or
// accepted; an accepted body is valid JSON, passes Check, holds integers
// within ±2^53, and the decoded value encoded and decoded again is the
// same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","seq":3,"tags":["x"],"meta":{"k":"v"},"sub":{"id":"u"},"any":[1,"x",null]}`,
		`{"name":"a","name":"b"}`, `{"Name":"a"}`, `{"seq":9007199254740993}`, `{"seq":3.6e3}`,
		`{"seq":1.5}`, `{"n":2147483648}`, `{"name":null}`, `{"sub":null}`, `null`, `[]`, `{} {}`,
		`{"role":"admin"}`, `{"f":1e400}`, `{"name":"\ud800"}`, "{\"name\":\"a\x00\"}", ``, `{"any":{"a":{"b":[[[]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fuzzBody
		err := Decode(data, &v)
		if err != nil {
			var ae *apierror.Error
			if !apierrorAs(err, &ae) || !slices.Contains(decodeCodes, ae.Code) {
				t.Fatalf("refused with %T %v, not a documented code", err, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err := Check(data); err != nil {
			t.Fatalf("accepted but Check refuses: %v", err)
		}
		for _, n := range []int64{v.Seq, int64(v.N)} {
			if n > maxSafeInteger || n < -maxSafeInteger {
				t.Fatalf("accepted integer %d beyond 2^53", n)
			}
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal decoded value: %v", err)
		}
		var w fuzzBody
		if err := Decode(again, &w); err != nil {
			t.Fatalf("re-encoded value %s refused: %v", again, err)
		}
		if !reflect.DeepEqual(normal(v), normal(w)) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", w, v)
		}
	})
}

// normal drops the empty-vs-absent distinction omitempty erases.
func normal(v fuzzBody) fuzzBody {
	if len(v.Tags) == 0 {
		v.Tags = nil
	}
	if len(v.Meta) == 0 {
		v.Meta = nil
	}
	return v
}

func apierrorAs(err error, target **apierror.Error) bool {
	ae, ok := err.(*apierror.Error)
	*target = ae
	return ok
}
