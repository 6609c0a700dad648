// Package strictjson decodes request bodies the way a public API must:
// malformed JSON, duplicate keys, integers beyond 2^53 (which JavaScript
// clients cannot represent), unknown fields, field names that differ from
// the documented ones only in case, null where a field is not nullable and
// trailing data are refused with a documented code, before anything is
// written.
//
// Decoding is github.com/go-json-experiment/json (encoding/json/v2), which is
// strict by design: names match exactly and duplicate names are an error.
// encoding/json matched names case-insensitively, so {"User_Id":"b"} filled
// user_id, and decoded null into any field as "leave it alone".
package strictjson

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tokenim/tokenim/shared/apierror"
)

const maxSafeInteger = 1 << 53

var (
	errNull       = errors.New("null is not allowed here")
	errNotInteger = errors.New("not an integer")
)

// options are the one place the body rules live; every caller of Decode
// gets them.
var options = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.MatchCaseInsensitiveNames(false), // the v2 default, stated: a case variant is an unknown field
	jsontext.AllowDuplicateNames(false),   // the v2 default, stated
	json.WithUnmarshalers(json.UnmarshalFromFunc(strictValue)),
)

// Decode parses data into v strictly. v's struct fields define the allowed
// keys; unknown keys are refused. null is accepted only by fields that decode
// themselves (Optional, json.RawMessage) or hold arbitrary JSON (any).
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return apierror.New(apierror.InvalidJSON, "The request body is empty; a JSON document is required.")
	}
	if err := Check(data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v, options); err != nil {
		return translate(err)
	}
	return nil
}

// Check validates syntax, duplicate keys, number ranges and that the body is
// one JSON value, without decoding.
func Check(data []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return translate(err)
		}
		if dec.StackDepth() == 0 && dec.InputOffset() < int64(len(bytes.TrimRight(data, " \t\r\n"))) {
			return apierror.New(apierror.InvalidJSON, "The request body holds more than one JSON value.")
		}
		if tok.Kind() == '0' {
			if err := checkNumber(tok.String()); err != nil {
				return err
			}
		}
	}
}

func checkNumber(s string) error {
	if !strings.ContainsAny(s, ".eE") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || i > maxSafeInteger || i < -maxSafeInteger {
			return apierror.New(apierror.NumberOutOfRange, "Integers must lie within ±2^53.")
		}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > maxSafeInteger {
		return apierror.New(apierror.NumberOutOfRange, "Numbers must lie within ±2^53.")
	}
	return nil
}

// selfDecoding types (Optional, json.RawMessage) decide about null themselves.
var (
	v1Unmarshaler = reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()
	v2Unmarshaler = reflect.TypeFor[json.UnmarshalerFrom]()
)

// strictValue runs before the default decoding of every value. It refuses
// null for fields that cannot hold it and decodes integer fields as JSON
// Schema defines an integer (3600.0 and 3.6e3 are the integer 3600), and
// otherwise hands the value on (errors.ErrUnsupported).
func strictValue(dec *jsontext.Decoder, v any) error {
	t := reflect.TypeOf(v) // always a non-nil pointer
	switch dec.PeekKind() {
	case 'n':
		// A Go pointer means "optional", not "nullable": {"seq":null} is refused
		// like {"name":null}.
		if t.Elem().Kind() == reflect.Interface || t.Implements(v1Unmarshaler) || t.Implements(v2Unmarshaler) {
			return errors.ErrUnsupported
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		return errNull
	case '0':
		elem := reflect.ValueOf(v).Elem()
		if !isInt(elem.Kind()) {
			return errors.ErrUnsupported
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		r, ok := new(big.Rat).SetString(tok.String())
		if !ok || !r.IsInt() || !r.Num().IsInt64() {
			return errNotInteger
		}
		n := r.Num().Int64()
		if elem.OverflowInt(n) {
			return errNotInteger
		}
		elem.SetInt(n)
		return nil
	}
	return errors.ErrUnsupported
}

func isInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

func translate(err error) error {
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			k := syn.JSONPointer.LastToken()
			return apierror.New(apierror.DuplicateKey, "The key %q appears more than once in one object.", truncate(k))
		}
		return apierror.New(apierror.InvalidJSON, "The request body is not valid JSON.")
	}
	var sem *json.SemanticError
	if !errors.As(err, &sem) {
		return apierror.New(apierror.InvalidJSON, "The request body is not valid JSON for this operation.")
	}
	field := fieldPath(sem.JSONPointer)
	switch {
	case errors.Is(sem.Err, json.ErrUnknownName):
		f := sem.JSONPointer.LastToken()
		return apierror.New(apierror.UnknownField, "Unknown field %q.", truncate(f)).WithDetails(map[string]string{"field": f})
	case field == "" && errors.Is(sem.Err, errNull):
		return apierror.New(apierror.ValidationFailed, "The request body must be a JSON object, not null.")
	case field == "":
		return apierror.New(apierror.ValidationFailed, "The request body must be a JSON %s.", kindName(sem.GoType))
	case errors.Is(sem.Err, errNull):
		return apierror.New(apierror.ValidationFailed, "Field %q may not be null.", truncate(field)).WithDetails(map[string]string{"field": field})
	case errors.Is(sem.Err, errNotInteger):
		return apierror.New(apierror.ValidationFailed, "Field %q must be an integer.", truncate(field)).WithDetails(map[string]string{"field": field})
	}
	return apierror.New(apierror.ValidationFailed, "Field %q has the wrong type.", truncate(field)).WithDetails(map[string]string{"field": field})
}

// fieldPath spells a JSON pointer as encoding/json did: "meta.x".
func fieldPath(p jsontext.Pointer) string {
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}

func kindName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return t.Kind().String()
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Optional distinguishes an absent field (Set=false) from an explicit null
// (Set=true, Null=true) in PATCH-style bodies. It is the way a body field
// says "null is allowed here".
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSONFrom decodes with the caller's options, so Value's own
// fields are as strict as the body's.
func (o *Optional[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	o.Set = true
	if dec.PeekKind() == 'n' {
		o.Null = true
		_, err := dec.ReadToken()
		return err
	}
	return json.UnmarshalDecode(dec, &o.Value)
}
