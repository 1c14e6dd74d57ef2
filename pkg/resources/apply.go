package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/errs"
)

// FieldManager names KubeSpace's changes in managedFields.
const FieldManager = "kubespace"

// maxApplyDocuments bounds one apply request.
const maxApplyDocuments = 500

// ApplyInput is a multi-document YAML (or JSON) apply.
type ApplyInput struct {
	YAML      string `json:"yaml" required:"true"`
	Namespace string `json:"namespace"`
	DryRun    bool   `json:"dry_run"`
}

// ApplyResult is the outcome for one object.
type ApplyResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Action is created, configured or unchanged (empty when Error is set).
	Action string `json:"action,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Target is one object about to be applied, for authorization.
type Target struct {
	Kind      Kind
	Namespace string
	Name      string
	// Object is the object as it will be sent (its namespace set); authorization reads it (which
	// ServiceAccount a workload runs as, whether a Secret asks for a token). Do not modify it.
	Object map[string]any
}

// Apply server-side-applies every document; authorize is asked about each object first, and an
// object it refuses is reported as an error without stopping the others. Documents are parsed
// and mapped before anything is applied, so a malformed document changes nothing.
func (b *Browser) Apply(ctx context.Context, clusterID int64, in ApplyInput, authorize func(Target) error) ([]ApplyResult, error) {
	docs, err := decodeDocuments(in.YAML)
	if err != nil {
		return nil, err
	}
	cc, err := b.cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	type planned struct {
		obj  *unstructured.Unstructured
		kind Kind
	}
	plan := make([]planned, 0, len(docs))
	for i, obj := range docs {
		gvk := obj.GroupVersionKind()
		mapping, err := cc.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			cc.mapper.Reset()
			mapping, err = cc.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return nil, errs.Invalidf("document %d: the cluster does not serve kind %s (%s)", i+1, gvk.Kind, gvk.GroupVersion())
		}
		k := Kind{Group: mapping.Resource.Group, Version: mapping.Resource.Version, Resource: mapping.Resource.Resource,
			Kind: gvk.Kind, Namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace}
		if k.Namespaced && obj.GetNamespace() == "" {
			ns := in.Namespace
			if ns == "" {
				ns = "default"
			}
			obj.SetNamespace(ns)
		} else if !k.Namespaced {
			obj.SetNamespace("")
		}
		plan = append(plan, planned{obj: obj, kind: k})
	}
	results := make([]ApplyResult, 0, len(plan))
	for _, p := range plan {
		r := ApplyResult{Kind: p.obj.GetKind(), Namespace: p.obj.GetNamespace(), Name: p.obj.GetName()}
		if err := authorize(Target{Kind: p.kind, Namespace: r.Namespace, Name: r.Name, Object: p.obj.Object}); err != nil {
			r.Error = err.Error()
			results = append(results, r)
			continue
		}
		r.Action, err = b.applyOne(ctx, cc, p.kind, p.obj, in.DryRun)
		if err != nil {
			r.Error = errorText(err)
		}
		results = append(results, r)
		if !in.DryRun && err == nil {
			b.Touched(clusterID, p.kind.Group, p.kind.Resource)
		}
	}
	return results, nil
}

func (b *Browser) applyOne(ctx context.Context, cc *clusterCache, k Kind, obj *unstructured.Unstructured, dryRun bool) (string, error) {
	ri := cc.dynamic.Resource(k.gvr())
	var client interface {
		Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
		Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
	} = ri
	if k.Namespaced {
		client = ri.Namespace(obj.GetNamespace())
	}
	before, err := client.Get(ctx, obj.GetName(), metav1.GetOptions{})
	existed := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return "", cluster.KubeError(err)
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	after, err := client.Apply(ctx, obj.GetName(), obj, opts)
	if err != nil {
		return "", cluster.KubeError(err)
	}
	switch {
	case !existed:
		return "created", nil
	case dryRun:
		// A dry run stores nothing, so the resource version stays even when the object changes:
		// compare the contents instead.
		if sameObject(before, after) {
			return "unchanged", nil
		}
		return "configured", nil
	case after.GetResourceVersion() == before.GetResourceVersion():
		return "unchanged", nil
	default:
		return "configured", nil
	}
}

// sameObject compares two versions of an object, ignoring the bookkeeping an apply may touch
// without changing anything (managedFields timestamps, the resource version).
func sameObject(a, b *unstructured.Unstructured) bool {
	strip := func(o *unstructured.Unstructured) map[string]any {
		c := o.DeepCopy()
		unstructured.RemoveNestedField(c.Object, "metadata", "managedFields")
		unstructured.RemoveNestedField(c.Object, "metadata", "resourceVersion")
		return c.Object
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// decodeDocuments splits multi-document YAML or JSON into objects, skipping empty documents and
// flattening List kinds.
func decodeDocuments(text string) ([]*unstructured.Unstructured, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errs.Field("yaml", "is required")
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(text)), 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, errs.Field("yaml", "document %d is not valid YAML: %s", i, err.Error())
		}
		if len(m) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: m}
		if obj.IsList() {
			l, err := obj.ToList()
			if err != nil {
				return nil, errs.Field("yaml", "document %d: %s", i, err.Error())
			}
			for j := range l.Items {
				out = append(out, &l.Items[j])
			}
		} else {
			out = append(out, obj)
		}
		if len(out) > maxApplyDocuments {
			return nil, errs.Field("yaml", "has more than %d objects", maxApplyDocuments)
		}
	}
	for i, obj := range out {
		switch {
		case obj.GetAPIVersion() == "" || obj.GetKind() == "":
			return nil, errs.Field("yaml", "object %d has no apiVersion or kind", i+1)
		case obj.GetName() == "":
			if obj.GetGenerateName() != "" {
				return nil, errs.Field("yaml", "object %d (%s) uses generateName, which apply cannot use; set metadata.name", i+1, obj.GetKind())
			}
			return nil, errs.Field("yaml", "object %d (%s) has no metadata.name", i+1, obj.GetKind())
		}
	}
	if len(out) == 0 {
		return nil, errs.Field("yaml", "holds no objects")
	}
	return out, nil
}

func errorText(err error) string {
	if e, ok := errs.As(err); ok && e.Message != "" {
		return e.Message
	}
	return fmt.Sprint(err)
}
