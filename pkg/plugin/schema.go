package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is a compiled params schema. It is safe for concurrent use.
type Schema struct {
	s *jsonschema.Schema
}

// Problem is one way params fail their schema. Path is the JSON path under params ("script",
// "env.KEY", "" for params itself).
type Problem struct {
	Path    string
	Message string
}

// CompileSchema compiles a plugin's params schema (JSON Schema draft 2020-12 unless the schema
// says otherwise). Schemas never load remote references: the loader refuses every URL, so a
// definition cannot make the server fetch anything.
func CompileSchema(key string, raw json.RawMessage) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("plugin %s: params schema is not JSON: %w", key, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	url := "kubespace:plugin/" + key + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("plugin %s: params schema: %w", key, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: params schema: %w", key, err)
	}
	return &Schema{s: s}, nil
}

// noLoader refuses every external reference.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("remote schema %q is not allowed", url)
}

var printer = message.NewPrinter(language.English)

// Validate checks params (a JSON value; empty means {}) and returns the problems, most specific
// first, or nil when params conform.
func (s *Schema) Validate(params json.RawMessage) []Problem {
	if len(bytes.TrimSpace(params)) == 0 {
		params = json.RawMessage("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(params))
	if err != nil {
		return []Problem{{Message: "must be a JSON object"}}
	}
	err = s.s.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Message: err.Error()}}
	}
	var out []Problem
	leaves(ve, func(e *jsonschema.ValidationError) {
		out = append(out, Problem{Path: strings.Join(e.InstanceLocation, "."), Message: e.ErrorKind.LocalizedString(printer)})
	})
	return out
}

// leaves calls fn with each innermost error: those name the offending value precisely.
func leaves(e *jsonschema.ValidationError, fn func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		fn(e)
		return
	}
	for _, c := range e.Causes {
		leaves(c, fn)
	}
}
