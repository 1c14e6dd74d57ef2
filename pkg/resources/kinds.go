// Package resources lets users browse every kind of every managed cluster without per-kind code:
// kinds come from discovery (built-in kinds and every CRD alike), lists are served from
// per-cluster informer caches started on demand and stopped when idle, with namespace, label and
// field selectors, text search, sorting and keyset pagination done on the server, and
// multi-document YAML is applied with server-side apply.
package resources

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/errs"
)

// Kind is one resource kind a cluster serves.
type Kind struct {
	Group      string   `json:"group"`
	Version    string   `json:"version"`
	Resource   string   `json:"resource"`
	Kind       string   `json:"kind"`
	Namespaced bool     `json:"namespaced"`
	Verbs      []string `json:"verbs"`
	ShortNames []string `json:"short_names,omitempty"`
}

// Name is how the API names the resource: "pods", "deployments.apps".
func (k Kind) Name() string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

// Kinds lists a cluster's resource kinds at their preferred versions (subresources excluded).
func (b *Browser) Kinds(ctx context.Context, clusterID int64) ([]Kind, error) {
	cc, err := b.cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	cc.refreshDiscovery()
	lists, err := cc.discovery.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, cluster.KubeError(err)
	}
	var out []Kind
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			out = append(out, Kind{Group: gv.Group, Version: gv.Version, Resource: r.Name, Kind: r.Kind,
				Namespaced: r.Namespaced, Verbs: r.Verbs, ShortNames: r.ShortNames})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// kind resolves "pods" or "deployments.apps" to the cluster's preferred version of it.
func (b *Browser) kind(ctx context.Context, cc *clusterCache, name string) (Kind, error) {
	kinds, err := b.Kinds(ctx, cc.id)
	if err != nil {
		return Kind{}, err
	}
	for _, k := range kinds {
		if k.Name() == name {
			return k, nil
		}
	}
	// The kind may be a CRD created since discovery was cached.
	cc.discovery.Invalidate()
	if kinds, err = b.Kinds(ctx, cc.id); err != nil {
		return Kind{}, err
	}
	for _, k := range kinds {
		if k.Name() == name {
			return k, nil
		}
	}
	return Kind{}, errs.NotFoundf("cluster %d serves no resource %q (name it as plural or plural.group, e.g. deployments.apps)", cc.id, name)
}

func (k Kind) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
}

func (k Kind) can(verb string) bool {
	for _, v := range k.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// Path is the Kubernetes API path of the collection (in namespace ns when namespaced and set).
func (k Kind) Path(ns string) string {
	p := "/api/" + k.Version
	if k.Group != "" {
		p = fmt.Sprintf("/apis/%s/%s", k.Group, k.Version)
	}
	if k.Namespaced && ns != "" {
		p += "/namespaces/" + ns
	}
	return p + "/" + k.Resource
}
