package resources

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// entry is what the cache keeps of one object: its JSON (without managedFields, encoded once
// when it arrives, so a list is a concatenation) and the few fields lists filter and sort on.
// Keeping entries instead of decoded objects holds a 10,000-pod cluster in tens of megabytes.
type entry struct {
	metav1.ObjectMeta // name, namespace, uid, resourceVersion, labels, creationTimestamp only
	raw               []byte
	fields            map[string]string // values for field selectors and overview
}

// selectable are the field paths kept for fieldSelector and the overview, when present.
var selectable = [][]string{
	{"status", "phase"}, {"spec", "nodeName"}, {"spec", "type"}, {"type"}, {"reason"},
	{"involvedObject", "kind"}, {"involvedObject", "name"}, {"involvedObject", "namespace"}, {"involvedObject", "uid"},
	{"status", "capacity", "cpu"}, {"status", "capacity", "memory"},
	{"status", "allocatable", "cpu"}, {"status", "allocatable", "memory"},
}

// toEntry is the informer's transform. It must be idempotent: the informer may hand it an entry.
func toEntry(obj any) (any, error) {
	switch o := obj.(type) {
	case *entry:
		return o, nil
	case cache.DeletedFinalStateUnknown:
		inner, err := toEntry(o.Obj)
		if err != nil {
			return nil, err
		}
		o.Obj = inner
		return o, nil
	case *unstructured.Unstructured:
		o.SetManagedFields(nil)
		raw, err := json.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		e := &entry{raw: raw, fields: map[string]string{}}
		e.Name, e.Namespace, e.UID = o.GetName(), o.GetNamespace(), o.GetUID()
		e.ResourceVersion, e.Labels, e.CreationTimestamp = o.GetResourceVersion(), o.GetLabels(), o.GetCreationTimestamp()
		for _, path := range selectable {
			if v, ok, _ := unstructured.NestedFieldNoCopy(o.Object, path...); ok {
				switch t := v.(type) {
				case string:
					e.fields[strings.Join(path, ".")] = t
				case bool, int64, float64:
					b, _ := json.Marshal(t)
					e.fields[strings.Join(path, ".")] = string(b)
				}
			}
		}
		if o.GetKind() == "Node" {
			e.fields["status.ready"] = nodeReady(o)
		}
		return e, nil
	default:
		return obj, nil
	}
}

func nodeReady(o *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" {
			s, _ := m["status"].(string)
			return s
		}
	}
	return "Unknown"
}

// fieldSet is what a field selector sees of an entry.
func (e *entry) fieldSet() map[string]string {
	out := make(map[string]string, len(e.fields)+2)
	for k, v := range e.fields {
		out[k] = v
	}
	out["metadata.name"] = e.Name
	out["metadata.namespace"] = e.Namespace
	return out
}
