package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/kubeproxy"
	"github.com/kubespace/kubespace/pkg/resources"
)

// maxApplyBody bounds apply requests (a large chart's manifests, CRDs).
const maxApplyBody = 16 << 20

// ResourceList documents the cached list response (written as a stream).
type ResourceList struct {
	Items           []map[string]any `json:"items"`
	Total           int              `json:"total"`
	Continue        string           `json:"continue,omitempty"`
	ResourceVersion string           `json:"resource_version"`
}

// ApplyResults is the outcome of an apply.
type ApplyResults struct {
	Results []resources.ApplyResult `json:"results"`
}

func (a *API) registerResources() {
	br := a.deps.Resources
	viewer := a.ResourceRole(access.Viewer, a.clusterScope)
	a.register(&Route{Method: http.MethodGet, Path: "/clusters/:id/kinds", Tag: "clusters",
		Summary: "Resource kinds the cluster serves (built-in and custom), from discovery",
		Guard:   viewer, KubernetesAPI: true, Handler: Do(func(c *Call, _ *NoInput) (List[resources.Kind], error) {
			ks, err := br.Kinds(c.Ctx, c.scope.ID)
			return List[resources.Kind]{Items: nonNil(ks), Total: int64(len(ks))}, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/clusters/:id/overview", Tag: "clusters",
		Summary: "Version, nodes, capacity, counts by kind and pods by phase",
		Guard:   viewer, KubernetesAPI: true, Handler: Do(func(c *Call, _ *NoInput) (*resources.Overview, error) {
			return br.Overview(c.Ctx, c.scope.ID)
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/clusters/:id/resources/:resource", Tag: "clusters",
		Summary: "Cached list of any resource (objects without managedFields) with selectors, search, sort and paging",
		Guard:   viewer, KubernetesAPI: true, Response: ResourceList{}, Example: resources.Query{Namespace: "default", Sort: "name", Limit: 50},
		Handler: Raw(a.listResources)})
	a.register(&Route{Method: http.MethodPost, Path: "/clusters/:id/apply", Tag: "clusters",
		Summary: "Server-side apply of multi-document YAML, with a result per object",
		Guard:   viewer, KubernetesAPI: true, Resource: "kubernetes", Action: "apply", MaxBody: maxApplyBody,
		Example: resources.ApplyInput{YAML: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n", Namespace: "default", DryRun: true},
		Handler: Do(func(c *Call, in *resources.ApplyInput) (*ApplyResults, error) {
			res, err := br.Apply(c.Ctx, c.scope.ID, *in, func(t resources.Target) error {
				// Escaped, so that a name or namespace holding '?', '#' or '/' is decided on as the
				// segment the cluster will see (or refused as not canonical), not read as more URL.
				return a.authorizeKube(c, http.MethodPatch, t.Kind.Path(url.PathEscape(t.Namespace))+"/"+url.PathEscape(t.Name), t.Object)
			})
			if res == nil {
				res = []resources.ApplyResult{}
			}
			return &ApplyResults{Results: res}, err
		})})
}

func (a *API) listResources(c *Call) error {
	var q resources.Query
	if err := decodeQuery(c.Request().URL.Query(), &q); err != nil {
		return err
	}
	// The namespace becomes part of the path the permission check reads: it must be a name,
	// not more path ("x/configmaps/y" would make a Secrets list look like a ConfigMap read).
	if q.Namespace != "" {
		if msgs := validation.IsDNS1123Label(q.Namespace); len(msgs) > 0 {
			return errs.Field("namespace", "is not a namespace name: %s", strings.Join(msgs, "; "))
		}
	}
	k, err := a.deps.Resources.Resolve(c.Ctx, c.scope.ID, c.Param("resource"))
	if err != nil {
		return err
	}
	if err := a.authorizeKube(c, http.MethodGet, k.Path(q.Namespace), nil); err != nil {
		return err
	}
	page, err := a.deps.Resources.List(c.Ctx, c.scope.ID, k, q)
	if err != nil {
		return err
	}
	c.Writer().Header().Set("Content-Type", "application/json; charset=utf-8")
	c.Writer().WriteHeader(http.StatusOK)
	return page.WriteJSON(c.Writer())
}

// authorizeKube applies the proxy's per-request rules to a request KubeSpace makes on the
// caller's behalf (lists from the cache, applies). obj is the object a write sends (nil for
// reads): the rules read it as they read a proxied body.
func (a *API) authorizeKube(c *Call, method, path string, obj map[string]any) error {
	req, err := http.NewRequestWithContext(c.Ctx, method, path, nil)
	if err != nil {
		return errs.Invalidf("invalid resource path %q", path)
	}
	var body []byte
	if obj != nil {
		if body, err = json.Marshal(obj); err != nil {
			return errs.Invalidf("the object cannot be encoded: %v", err)
		}
		// Server-side apply sends the object as an apply patch.
		req.Header.Set("Content-Type", "application/apply-patch+yaml")
	}
	d, err := kubeproxy.Decide(req, body)
	if err != nil {
		return err
	}
	if err := a.requireKube(c, d); err != nil {
		return err
	}
	return nil
}

// requireKube checks that the caller's role in the cluster covers a Kubernetes request. Only a
// real denial is a 403; not knowing the role (the database is down) stays what it is.
func (a *API) requireKube(c *Call, d kubeproxy.Decision) error {
	err := a.deps.Authorizer.Require(c.Ctx, c.Principal, c.scope, d.Role)
	if errs.Is(err, errs.Forbidden) {
		return kubeForbidden(d, c.scope.ID)
	}
	return err
}

// kubeForbidden is the refusal of a Kubernetes request the caller's role does not cover.
func kubeForbidden(d kubeproxy.Decision, clusterID int64) error {
	msg := fmt.Sprintf("%s %s in cluster %d requires the %s role", d.Info.Verb, describeResource(d), clusterID, d.Role)
	if d.Reason != "" {
		msg += ": " + d.Reason
	}
	return errs.Forbiddenf("%s", msg)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
