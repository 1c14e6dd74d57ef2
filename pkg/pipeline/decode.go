package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/kubespace/kubespace/pkg/errs"
)

// MaxDefinitionBytes bounds a definition body (JSON or YAML).
const MaxDefinitionBytes = 1 << 20

// DecodeJSON decodes a definition from an API body: exactly one JSON object, no unknown field,
// every value of the right type. Problems are an errs Invalid error naming the field path
// ("stages[0].jobs[1].timeout_seconds"); a body over MaxDefinitionBytes is errs.TooLarge. It
// checks shape only: run the Validator on the result.
func DecodeJSON(body []byte) (*Definition, error) {
	if len(body) > MaxDefinitionBytes {
		return nil, errs.New(errs.TooLarge, "a pipeline definition must be at most %d bytes", MaxDefinitionBytes)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errs.Invalidf("a pipeline definition must be a JSON object").WithCode("invalid_json")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, errs.Invalidf("the body is not valid JSON: %s", jsonProblem(err, trimmed)).WithCode("invalid_json")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errs.Invalidf("the body must hold a single JSON object").WithCode("invalid_json")
	}
	return fromTree(tree, nil)
}

// jsonProblem says where JSON syntax broke.
func jsonProblem(err error, body []byte) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line := 1 + bytes.Count(body[:min(int(syn.Offset), len(body))], []byte("\n"))
		return fmt.Sprintf("line %d: %s", line, syn.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends too early"
	}
	return err.Error()
}

// fromTree checks a decoded JSON tree against the shape of Definition, then converts it. at
// reports the source line of a field path (YAML), or is nil.
func fromTree(tree any, at func(path string) string) (*Definition, error) {
	f := errs.Fields{}
	checkShape(f, tree, reflect.TypeFor[Definition](), "", at)
	if err := f.Err(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return nil, errs.Invalidf("the definition cannot be encoded: %v", err)
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		// checkShape accepted it, so this is a gap in checkShape: still a 400, never a 500.
		return nil, errs.Invalidf("the definition does not fit: %v", err)
	}
	return &d, nil
}

var rawType = reflect.TypeFor[json.RawMessage]()

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkShape compares a JSON tree (map[string]any, []any, string, json.Number, bool, nil) with
// the Go type t and records each mismatch at its path. null is accepted everywhere (it leaves
// the zero value, as encoding/json does).
func checkShape(f errs.Fields, v any, t reflect.Type, path string, at func(string) string) {
	if v == nil || t == rawType {
		return
	}
	add := func(p, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if at != nil {
			msg = at(p) + msg
		}
		f.Add(p, "%s", msg)
	}
	field := path
	if field == "" {
		field = "definition"
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			add(field, "must be an object")
			return
		}
		fields := jsonFields(t)
		for k, sub := range m {
			sf, ok := fields[k]
			if !ok {
				add(join(path, k), "is not a known field")
				continue
			}
			checkShape(f, sub, sf.Type, join(path, k), at)
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			add(field, "must be a list")
			return
		}
		for i, sub := range s {
			checkShape(f, sub, t.Elem(), fmt.Sprintf("%s[%d]", path, i), at)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			add(field, "must be an object")
			return
		}
		for k, sub := range m {
			checkShape(f, sub, t.Elem(), join(path, k), at)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			add(field, "must be a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			add(field, "must be true or false")
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := v.(json.Number)
		if !ok {
			add(field, "must be an integer")
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			add(field, "must be an integer between %d and %d", int64(-1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
		}
	default:
		add(field, "has an unsupported type")
	}
}

// jsonFields maps the JSON names of a struct's fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = sf
	}
	return out
}
