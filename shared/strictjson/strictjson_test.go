package strictjson

import (
	"errors"
	"slices"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

func TestDecode(t *testing.T) {
	type body struct {
		Name  string         `json:"name"`
		Count int64          `json:"count"`
		Meta  map[string]any `json:"meta"`
		List  []int          `json:"list"`
		Seq   *int64         `json:"seq"`
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
		// Names match exactly: a case variant is not the field (issue 12, defect 5).
		{"case variant", `{"Name":"a"}`, apierror.UnknownField},
		{"case variant after exact", `{"name":"a","NAME":"b"}`, apierror.UnknownField},
		{"case variant of nested-type field", `{"LIST":[1]}`, apierror.UnknownField},
		// null only where the type says so (defect 6).
		{"null body", `null`, apierror.ValidationFailed},
		{"null body padded", " null \n", apierror.ValidationFailed},
		{"null string field", `{"name":null}`, apierror.ValidationFailed},
		{"null integer field", `{"count":null}`, apierror.ValidationFailed},
		{"null map field", `{"meta":null}`, apierror.ValidationFailed},
		{"null list field", `{"list":null}`, apierror.ValidationFailed},
		{"null list element", `{"list":[1,null]}`, apierror.ValidationFailed},
		{"null pointer field", `{"seq":null}`, apierror.ValidationFailed},
		{"pointer field set", `{"seq":3}`, ""},
		{"null inside arbitrary JSON", `{"meta":{"x":null}}`, ""},
		// Integers as JSON Schema counts them (defect 11).
		{"integer written with .0", `{"count":3600.0}`, ""},
		{"integer written with exponent", `{"count":3.6e3}`, ""},
		{"fraction in integer field", `{"count":3600.5}`, apierror.ValidationFailed},
		{"tiny fraction in integer field", `{"count":3600.0000000000000001}`, apierror.ValidationFailed},
		{"integer element with .0", `{"list":[1.0,2e0]}`, ""},
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

func TestDecodeValues(t *testing.T) {
	type body struct {
		Count int64 `json:"count"`
		List  []int `json:"list"`
	}
	tests := []struct {
		in        string
		wantCount int64
		wantList  []int
	}{
		{`{"count":3600.0}`, 3600, nil},
		{`{"count":-3.6e3}`, -3600, nil},
		{`{"count":9007199254740992.0}`, 1 << 53, nil},
		{`{"list":[1.0,2e0,30E-1]}`, 0, []int{1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var b body
			if err := Decode([]byte(tc.in), &b); err != nil {
				t.Fatalf("Decode(%s): %v", tc.in, err)
			}
			if b.Count != tc.wantCount || !slices.Equal(b.List, tc.wantList) {
				t.Errorf("Decode(%s) = %+v, want count %d list %v", tc.in, b, tc.wantCount, tc.wantList)
			}
		})
	}
}

func TestDecodeErrorNamesField(t *testing.T) {
	var b struct {
		UserID string `json:"user_id"`
	}
	tests := []struct {
		in, wantField string
	}{
		{`{"user_id":"a","User_Id":"b"}`, "User_Id"},
		{`{"USER_ID":"c"}`, "USER_ID"},
		{`{"user_id":null}`, "user_id"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := Decode([]byte(tc.in), &b)
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Decode(%s) = %v, want an apierror", tc.in, err)
			}
			if got := ae.Details.(map[string]string)["field"]; got != tc.wantField {
				t.Errorf("Decode(%s) details.field = %q, want %q", tc.in, got, tc.wantField)
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

// TestOptionalIsAsStrict: a nullable field's value is decoded with the same
// rules as the rest of the body.
func TestOptionalIsAsStrict(t *testing.T) {
	type inner struct {
		N int64 `json:"n"`
	}
	tests := []struct {
		in   string
		want apierror.Code
	}{
		{`{"m":null}`, ""},
		{`{"m":{"k":"v"}}`, ""},
		{`{"m":{"k":null}}`, apierror.ValidationFailed},
		{`{"s":{"n":2.0}}`, ""},
		{`{"s":{"N":2}}`, apierror.UnknownField},
		{`{"s":{"n":null}}`, apierror.ValidationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var b struct {
				M Optional[map[string]string] `json:"m"`
				S Optional[inner]             `json:"s"`
			}
			if got := apierror.CodeOf(Decode([]byte(tc.in), &b)); got != tc.want {
				t.Errorf("Decode(%s) code = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
