package audit

import (
	"bytes"
	"errors"
	"io"

	"k8s.io/apimachinery/pkg/util/yaml"
)

// maxManifestDocuments bounds how many documents of a manifest the audit log parses (apply
// accepts 500 objects; a manifest with more is refused there and redacted whole here).
const maxManifestDocuments = 1000

// redactManifest redacts a Kubernetes manifest (multi-document YAML or JSON text, as apply takes
// it) object by object: it is parsed with the same decoder apply uses, so a kind written with
// escapes ("Secr\\x65t", "Secr\\u0065t") or in flow style is the kind apply sees, and each
// object is redacted like a JSON body (a Secret's data and stringData, secret-named keys). The
// result is the list of redacted objects. Anything that does not parse is redacted whole.
func redactManifest(v any) any {
	text, ok := v.(string)
	if !ok {
		return redact(v, false)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(text)), 4096)
	docs := []any{}
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(docs) >= maxManifestDocuments {
			return redacted
		}
		if len(doc) == 0 {
			continue
		}
		docs = append(docs, redact(doc, false))
	}
	return docs
}
