// Package strictjson decodes request bodies the way a public API must:
// malformed JSON, duplicate keys, integers beyond 2^53 (which JavaScript
// clients cannot represent), unknown fields and trailing data are refused
// with a documented code, before anything is written.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tokenim/tokenim/shared/apierror"
)

const maxSafeInteger = 1 << 53

// Decode parses data into v strictly. v's struct fields define the allowed
// keys; unknown keys are refused.
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return apierror.New(apierror.InvalidJSON, "The request body is empty; a JSON document is required.")
	}
	if err := Check(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return translate(err)
	}
	return nil
}

// Check validates syntax, duplicate keys and number ranges without decoding.
func Check(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys    map[string]struct{} // nil for arrays
		wantKey bool
	}
	var stack []*frame
	// valueDone tells the enclosing object that its key's value is complete.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return apierror.New(apierror.InvalidJSON, "The request body is not valid JSON.")
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			top := stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			k, _ := tok.(string)
			if _, dup := top.keys[k]; dup {
				return apierror.New(apierror.DuplicateKey, "The key %q appears more than once in one object.", truncate(k))
			}
			top.keys[k] = struct{}{}
			top.wantKey = false
			continue
		}
		if len(stack) == 0 {
			if values++; values > 1 {
				return apierror.New(apierror.InvalidJSON, "The request body holds more than one JSON value.")
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{keys: map[string]struct{}{}, wantKey: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			default: // ']' ('}' is handled above, where a key is expected)
				stack = stack[:len(stack)-1]
			}
		case json.Number:
			if err := checkNumber(t); err != nil {
				return err
			}
		}
		valueDone()
	}
}

func checkNumber(n json.Number) error {
	s := string(n)
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

func translate(err error) error {
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			return apierror.New(apierror.ValidationFailed, "The request body must be a JSON %s.", kindName(typeErr.Type.Kind().String()))
		}
		return apierror.New(apierror.ValidationFailed, "Field %q has the wrong type.", truncate(field)).WithDetails(map[string]string{"field": field})
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return apierror.New(apierror.UnknownField, "Unknown field %q.", truncate(f)).WithDetails(map[string]string{"field": f})
	}
	return apierror.New(apierror.InvalidJSON, "The request body is not valid JSON for this operation.")
}

func kindName(k string) string {
	switch k {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return k
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Optional distinguishes an absent field (Set=false) from an explicit null
// (Set=true, Null=true) in PATCH-style bodies.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}
