package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
)

// decodeJSON decodes exactly one JSON object into dst, refusing unknown fields and trailing data,
// and turns every decoding problem into a field-level message.
func decodeJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.Invalidf("request body is required (a JSON object)").WithCode("invalid_json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.Invalidf("request body must hold a single JSON object").WithCode("invalid_json")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errs.Invalidf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error()).WithCode("invalid_json")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalidf("malformed JSON: unexpected end of body").WithCode("invalid_json")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errs.Invalidf("request body must be a JSON object, not %s", typ.Value).WithCode("invalid_json")
		}
		return fieldErr(field, "must be %s, not %s", describe(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldErr(name, "is not a known field")
	default:
		var parse *time.ParseError
		if errors.As(err, &parse) {
			return errs.Invalidf("a time value is not RFC 3339 (such as 2026-01-02T15:04:05Z): %q", parse.Value).WithCode("validation_failed")
		}
		return errs.Invalidf("invalid JSON body: %s", err.Error()).WithCode("invalid_json")
	}
}

func fieldErr(field, format string, args ...any) error {
	return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "request is invalid",
		Fields: map[string]string{field: fmt.Sprintf(format, args...)}}
}

func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// decodeQuery fills dst's `query`-tagged fields (string, bool, integers, time.Time and pointers
// to them, embedded structs) from q, with a precise message for each malformed value.
func decodeQuery(q url.Values, dst any) error {
	f := errs.Fields{}
	decodeQueryInto(q, reflect.ValueOf(dst).Elem(), f)
	return f.Err()
}

func decodeQueryInto(q url.Values, v reflect.Value, f errs.Fields) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			decodeQueryInto(q, v.Field(i), f)
			continue
		}
		name := sf.Tag.Get("query")
		if name == "" || !q.Has(name) {
			continue
		}
		raw := q.Get(name)
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			fv.Set(reflect.New(fv.Type().Elem()))
			fv = fv.Elem()
		}
		if fv.Type() == reflect.TypeFor[time.Time]() {
			tm, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				f.Add(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
				continue
			}
			fv.Set(reflect.ValueOf(tm.UTC()))
			continue
		}
		switch fv.Kind() {
		case reflect.String:
			if len(raw) > 1024 {
				f.Add(name, "must be at most 1024 characters")
				continue
			}
			fv.SetString(raw)
		case reflect.Bool:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				f.Add(name, "must be true or false")
				continue
			}
			fv.SetBool(b)
		case reflect.Int, reflect.Int64, reflect.Int32:
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || fv.OverflowInt(n) {
				f.Add(name, "must be an integer")
				continue
			}
			fv.SetInt(n)
		default:
			panic(fmt.Sprintf("query field %s has unsupported type %s", sf.Name, fv.Type()))
		}
		if enum := sf.Tag.Get("enum"); enum != "" && fv.Kind() == reflect.String && !inEnum(enum, raw) {
			f.Add(name, "must be one of %s", strings.ReplaceAll(enum, ",", ", "))
		}
	}
}

func inEnum(enum, v string) bool {
	for _, e := range strings.Split(enum, ",") {
		if e == v {
			return true
		}
	}
	return false
}
