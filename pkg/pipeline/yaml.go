package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubespace/kubespace/pkg/errs"
)

// maxYAMLDepth bounds nesting: a definition is a few levels deep, params a few more.
const maxYAMLDepth = 64

// ImportYAML decodes a definition from YAML (the format of ExportYAML). It refuses, with an
// errs Invalid error giving the line and the field: more than one document, anchors and aliases
// (no YAML bombs: nothing is ever expanded), custom tags, non-string keys, repeated keys, unknown
// fields and values of the wrong type. Over MaxDefinitionBytes is errs.TooLarge. It checks shape
// only: Validator.Import also validates, with lines.
func ImportYAML(data []byte) (*Definition, error) {
	d, _, err := importYAML(data)
	return d, err
}

// Import decodes a YAML definition and validates it; every field error starts with the line
// it is on ("line 12: is not a known plugin ...").
func (v *Validator) Import(data []byte) (*Definition, error) {
	d, lines, err := importYAML(data)
	if err != nil {
		return nil, err
	}
	if err := v.Validate(d); err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			for k, msg := range e.Fields {
				e.Fields[k] = lines.at(k) + msg
			}
		}
		return nil, err
	}
	return d, nil
}

func importYAML(data []byte) (d *Definition, lines lineIndex, err error) {
	if len(data) > MaxDefinitionBytes {
		return nil, nil, errs.New(errs.TooLarge, "a pipeline definition must be at most %d bytes", MaxDefinitionBytes)
	}
	defer func() {
		// The parser is fuzzed upstream, but a panic on hostile input must stay a 400.
		if r := recover(); r != nil {
			d, err = nil, errs.Invalidf("the YAML cannot be read: %v", r).WithCode("invalid_yaml")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errs.Invalidf("the YAML is empty").WithCode("invalid_yaml")
		}
		return nil, nil, errs.Invalidf("the YAML is malformed: %s", strings.TrimPrefix(err.Error(), "yaml: ")).WithCode("invalid_yaml")
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, nil, errs.Invalidf("the YAML must hold one document (one pipeline)").WithCode("invalid_yaml")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil, errs.Invalidf("the YAML is empty").WithCode("invalid_yaml")
		}
		root = root.Content[0]
	}
	c := converter{lines: lineIndex{}}
	tree, err := c.value(root, "", 0)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, nil, errs.Invalidf("line %d: a pipeline definition must be a mapping (name, stages, ...)", root.Line).WithCode("invalid_yaml")
	}
	d, err = fromTree(tree, c.lines.at)
	return d, c.lines, err
}

// lineIndex maps field paths to the line they start on.
type lineIndex map[string]int

// at returns "line N: " for a path, using the nearest enclosing path that has a line.
func (l lineIndex) at(path string) string {
	for p := path; ; {
		if n, ok := l[p]; ok {
			return fmt.Sprintf("line %d: ", n)
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if n, ok := l[""]; ok {
				return fmt.Sprintf("line %d: ", n)
			}
			return ""
		}
		p = p[:i]
	}
}

type converter struct{ lines lineIndex }

func yamlErr(n *yaml.Node, format string, args ...any) error {
	return errs.Invalidf("line %d: %s", n.Line, fmt.Sprintf(format, args...)).WithCode("invalid_yaml")
}

// value turns a node into a JSON tree, recording the line of every path.
func (c *converter) value(n *yaml.Node, path string, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, yamlErr(n, "nesting is deeper than %d levels", maxYAMLDepth)
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return nil, yamlErr(n, "anchors and aliases (& and *) are not allowed in a pipeline definition")
	}
	if _, seen := c.lines[path]; !seen {
		c.lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.MappingNode:
		if n.ShortTag() != "!!map" {
			return nil, yamlErr(n, "tag %s is not allowed", n.Tag)
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode || k.Anchor != "" {
				return nil, yamlErr(k, "anchors and aliases (& and *) are not allowed in a pipeline definition")
			}
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				if k.Kind == yaml.ScalarNode && k.Value == "<<" {
					return nil, yamlErr(k, "merge keys (<<) are not allowed in a pipeline definition")
				}
				return nil, yamlErr(k, "keys must be strings")
			}
			if _, dup := m[k.Value]; dup {
				return nil, yamlErr(k, "key %q is repeated", k.Value)
			}
			sub := join(path, k.Value)
			c.lines[sub] = k.Line
			v, err := c.value(val, sub, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		if n.ShortTag() != "!!seq" {
			return nil, yamlErr(n, "tag %s is not allowed", n.Tag)
		}
		s := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, yamlErr(n, "unexpected YAML node")
}

// scalar resolves a scalar as YAML 1.2 does (true/false, numbers, null; all else strings).
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, yamlErr(n, "%q is not true or false", n.Value)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		// Past int64: keep it as a number (a params value); integer fields refuse it later.
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) {
			return nil, yamlErr(n, "%q is not a number KubeSpace can hold", n.Value)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, yamlErr(n, "%q is not a finite number", n.Value)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case "!!str", "!!timestamp":
		// A date in a string field (a parameter default) stays the text the user wrote.
		return n.Value, nil
	}
	return nil, yamlErr(n, "tag %s is not allowed", n.Tag)
}

// ExportYAML writes a definition as YAML: fields in the order of the types, params in the
// order they were written, multi-line strings (scripts) as literal blocks, empty fields left
// out. ImportYAML reads it back to the same definition.
func ExportYAML(d *Definition) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode definition: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := jsonNode(dec, false)
	if err != nil {
		return nil, fmt.Errorf("convert definition: %w", err)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("write yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write yaml: %w", err)
	}
	return out.Bytes(), nil
}

// emptyNode reports whether a member can be left out of the YAML and read back the same: null,
// "" and {} (the zero values of the definition's fields).
func emptyNode(n *yaml.Node) bool {
	switch {
	case n.Tag == "!!null":
		return true
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == "":
		return true
	case n.Kind == yaml.MappingNode && len(n.Content) == 0:
		return true
	}
	return false
}

// jsonNode reads one JSON value from a token stream as a YAML node, keeping key order. Empty
// members of the definition are dropped (absent reads back the same), but never inside a job's
// params (inParams), where a plugin may tell null or "" from absent.
func jsonNode(dec *json.Decoder, inParams bool) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonNode(dec, inParams || kt == "params")
				if err != nil {
					return nil, err
				}
				if !inParams && kt != "params" && emptyNode(v) {
					continue
				}
				k := &yaml.Node{}
				k.SetString(kt.(string))
				n.Content = append(n.Content, k, v)
			}
			_, err := dec.Token() // }
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := jsonNode(dec, inParams)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, err := dec.Token() // ]
			return n, err
		}
	case string:
		n := &yaml.Node{}
		n.SetString(t)
		return n, nil
	case json.Number:
		tag := "!!int"
		if _, err := strconv.ParseInt(t.String(), 10, 64); err != nil {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
