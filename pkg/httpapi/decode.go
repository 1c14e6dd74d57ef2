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
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errs.Invalidf("request body is required (a JSON object)").WithCode("invalid_json")
	}
	if trimmed[0] != '{' {
		// Not only arrays and strings: a JSON null would decode into an all-zero input.
		return errs.Invalidf("request body must be a JSON object").WithCode("invalid_json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &syntax) && !errors.As(err, &typ) {
			// encoding/json reports a bad time without naming its field.
			if ferr := badTimeField(body, dst); ferr != nil {
				return ferr
			}
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.Invalidf("request body must hold a single JSON object").WithCode("invalid_json")
	}
	return timeFields(reflect.ValueOf(dst).Elem(), func(name string, f reflect.Value) error {
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				return nil
			}
			f = f.Elem()
		}
		if !representable(f.Interface().(time.Time)) {
			return errs.Field(name, "must be a time between the years 0001 and 9999 in UTC")
		}
		return nil
	})
}

var timeType = reflect.TypeFor[time.Time]()

// representable reports whether t survives the round trip through JSON and the database: its
// UTC year must have four digits (an offset can push 9999-12-31 into the year 10000).
func representable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// timeFields calls fn with the JSON name and value of every time.Time or *time.Time field of
// the struct v, including those of embedded structs.
func timeFields(v reflect.Value, fn func(name string, f reflect.Value) error) error {
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if err := timeFields(v.Field(i), fn); err != nil {
				return err
			}
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft == timeType {
			if err := fn(name, v.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// badTimeField finds the time field of dst whose value in body is not an RFC 3339 string.
func badTimeField(body []byte, dst any) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return nil
	}
	return timeFields(reflect.ValueOf(dst).Elem(), func(name string, _ reflect.Value) error {
		for k, v := range raw {
			if !strings.EqualFold(k, name) || string(v) == "null" {
				continue
			}
			var tm time.Time
			if json.Unmarshal(v, &tm) != nil {
				return errs.Field(name, "must be an RFC 3339 time string such as 2026-01-02T15:04:05Z")
			}
		}
		return nil
	})
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
		return errs.Field(field, "must be %s, not %s", describe(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Field(name, "is not a known field")
	default:
		var parse *time.ParseError
		if errors.As(err, &parse) {
			return errs.Invalidf("a time value is not RFC 3339 (such as 2026-01-02T15:04:05Z): %q", parse.Value).WithCode("validation_failed")
		}
		return errs.Invalidf("invalid JSON body: %s", err.Error()).WithCode("invalid_json")
	}
}

func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
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
		if fv.Type() == timeType {
			tm, err := time.Parse(time.RFC3339, raw)
			if err != nil || !representable(tm) {
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
