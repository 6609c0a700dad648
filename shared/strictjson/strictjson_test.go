package strictjson

import (
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

func TestDecode(t *testing.T) {
	type body struct {
		Name  string         `json:"name"`
		Count int64          `json:"count"`
		Meta  map[string]any `json:"meta"`
		List  []int          `json:"list"`
	}
	tests := []struct {
		name string
		in   string
		want apierror.Code
	}{
		{"ok", `{"name":"a","count":3,"meta":{"x":{"y":1}},"list":[1,2]}`, ""},
		{"ok nested same keys in siblings", `{"meta":{"a":{"k":1},"b":{"k":2}}}`, ""},
		{"empty", ``, apierror.InvalidJSON},
		{"whitespace", "  \n", apierror.InvalidJSON},
		{"malformed", `{"name":`, apierror.InvalidJSON},
		{"trailing garbage", `{"name":"a"} x`, apierror.InvalidJSON},
		{"two values", `{} {}`, apierror.InvalidJSON},
		{"duplicate top key", `{"name":"a","name":"b"}`, apierror.DuplicateKey},
		{"duplicate nested key", `{"meta":{"x":1,"x":2}}`, apierror.DuplicateKey},
		{"duplicate key after nested object", `{"meta":{"x":1},"meta":{}}`, apierror.DuplicateKey},
		{"duplicate key in object in array", `{"meta":{"l":[{"a":1,"a":1}]}}`, apierror.DuplicateKey},
		{"2^53 ok", `{"count":9007199254740992}`, ""},
		{"2^53+1", `{"count":9007199254740993}`, apierror.NumberOutOfRange},
		{"huge negative", `{"count":-99999999999999999999}`, apierror.NumberOutOfRange},
		{"huge float", `{"meta":{"f":1e300}}`, apierror.NumberOutOfRange},
		{"unknown field", `{"nope":1}`, apierror.UnknownField},
		{"wrong type", `{"name":5}`, apierror.ValidationFailed},
		{"not an object", `[1,2]`, apierror.ValidationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b body
			err := Decode([]byte(tc.in), &b)
			if got := apierror.CodeOf(err); got != tc.want {
				t.Fatalf("Decode(%s) code = %q, want %q (err %v)", tc.in, got, tc.want, err)
			}
		})
	}
}

func TestOptional(t *testing.T) {
	var b struct {
		A Optional[string] `json:"a"`
		B Optional[string] `json:"b"`
		C Optional[string] `json:"c"`
	}
	if err := Decode([]byte(`{"a":"x","b":null}`), &b); err != nil {
		t.Fatal(err)
	}
	if !b.A.Set || b.A.Null || b.A.Value != "x" {
		t.Errorf("a = %+v", b.A)
	}
	if !b.B.Set || !b.B.Null {
		t.Errorf("b = %+v", b.B)
	}
	if b.C.Set {
		t.Errorf("c = %+v, want unset", b.C)
	}
}
