package kubeproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxBodyDepth bounds how deeply nested an inspected body may be. Pod templates, Secrets and
// patches to them are a dozen levels deep; anything far deeper is refused rather than walked.
const maxBodyDepth = 100

// Media types the API server reads request bodies in.
const (
	mediaJSON           = "application/json"
	mediaYAML           = "application/yaml"
	mediaProtobuf       = "application/vnd.kubernetes.protobuf"
	mediaJSONPatch      = "application/json-patch+json"
	mediaMergePatch     = "application/merge-patch+json"
	mediaStrategicPatch = "application/strategic-merge-patch+json"
	mediaApplyYAML      = "application/apply-patch+yaml"
)

// errUninspectable marks a body whose content the decision cannot read.
var errUninspectable = errors.New("uninspectable body")

// requestBody is a write's body as the decision sees it.
type requestBody struct {
	media string // the media type, without parameters ("" when the client sent none)
	raw   []byte
	// parsed is the decoded JSON value (objects are map[string]any, numbers json.Number); err
	// says why there is none. Both are filled on first use.
	parsed  any
	err     error
	decoded bool
}

func newRequestBody(h http.Header, raw []byte) *requestBody {
	b := &requestBody{raw: raw}
	if ct := h.Get("Content-Type"); ct != "" {
		if media, _, err := mime.ParseMediaType(ct); err == nil {
			b.media = strings.ToLower(media)
		} else {
			b.media = "unparsable content type " + ct
		}
	}
	if enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); enc != "" && enc != "identity" {
		b.err = fmt.Errorf("%w: it is %s-encoded", errUninspectable, enc)
		b.decoded = true
	}
	return b
}

func (b *requestBody) empty() bool { return len(bytes.TrimSpace(b.raw)) == 0 }

// jsonPatch reports whether the body is a JSON patch (a list of operations).
func (b *requestBody) jsonPatch() bool { return b.media == mediaJSONPatch }

// protobuf reports whether the body is in Kubernetes' protobuf encoding, which only built-in
// kinds accept.
func (b *requestBody) protobuf() bool { return b.media == mediaProtobuf }

// value decodes the body the way the API server reads its media type: JSON (objects and every
// kind of patch; also when no type is given, as the API server assumes) or YAML (objects and
// server-side apply). Protobuf, CBOR and anything else are not decoded. Duplicate keys are refused:
// the API server keeps one of them, and the decision must not look at the other.
func (b *requestBody) value() (any, error) {
	if b.decoded {
		return b.parsed, b.err
	}
	b.decoded = true
	data := b.raw
	switch b.media {
	case "", mediaJSON, mediaJSONPatch, mediaMergePatch, mediaStrategicPatch:
	case mediaYAML, mediaApplyYAML:
		j, err := yaml.YAMLToJSONStrict(data)
		if err != nil {
			b.err = fmt.Errorf("%w: it is not valid YAML (%s)", errUninspectable, firstLine(err.Error()))
			return nil, b.err
		}
		data = j
	default:
		b.err = fmt.Errorf("%w: it is %s", errUninspectable, b.media)
		return nil, b.err
	}
	b.parsed, b.err = decodeJSON(data)
	if b.err != nil {
		b.err = fmt.Errorf("%w: %s", errUninspectable, b.err.Error())
	}
	return b.parsed, b.err
}

// decodeJSON decodes exactly one JSON value, refusing duplicate keys and deep nesting.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("it has data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxBodyDepth {
		return nil, fmt.Errorf("it is nested more than %d levels deep", maxBodyDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("it is not valid JSON (%s)", err.Error())
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch d {
	case '{':
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("it is not valid JSON (%s)", err.Error())
			}
			k, _ := kt.(string)
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("it has the key %q twice", k)
			}
			if m[k], err = decodeValue(dec, depth+1); err != nil {
				return nil, err
			}
		}
		_, err = dec.Token() // '}'
		return m, err
	case '[':
		l := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err = dec.Token() // ']'
		return l, err
	default:
		return nil, fmt.Errorf("it is not valid JSON (unexpected %v)", d)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
