package httpapi

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/kubeproxy"
	"github.com/kubespace/kubespace/pkg/store"
)

// maxProxyBody bounds bodies sent through the Kubernetes proxy (large applies, CRDs).
const maxProxyBody = 32 << 20

// clusterScope resolves the cluster named by the path and checks that it exists.
func (a *API) clusterScope(c *Call) (access.Scope, error) {
	id := c.PathID()
	s := access.Scope{Kind: store.ScopeCluster, ID: id}
	return s, a.deps.Authorizer.Exists(c.Ctx, s)
}

// DeleteClusterQuery are the options of a cluster deletion.
type DeleteClusterQuery struct {
	Force bool `query:"force" json:"force,omitempty"`
}

func (a *API) registerClusters() {
	cs := a.deps.Clusters
	a.register(&Route{Method: http.MethodGet, Path: "/clusters", Tag: "clusters",
		Summary: "List the clusters you can see, with their live status",
		Guard:   Authenticated(), Example: ListQuery{Sort: "name"},
		Handler: Do(func(c *Call, q *ListQuery) (List[cluster.View], error) {
			ids, err := a.visibleClusters(c)
			if err != nil {
				return List[cluster.View]{}, err
			}
			p, err := cs.List(c.Ctx, ids, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/clusters", Tag: "clusters",
		Summary: "Import a cluster by kubeconfig (validated by contacting it), or register one that waits for its kube-agent",
		Guard:   a.PlatformRole(access.Admin), Resource: "cluster", Status: http.StatusCreated,
		Example: cluster.CreateInput{Name: "production", Description: "eu-west production"},
		Handler: Do(func(c *Call, in *cluster.CreateInput) (*cluster.View, error) {
			cl, err := cs.Create(c.Ctx, *in)
			if err == nil {
				c.Audit(cl.ID, cl.Name)
			}
			return cl, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/clusters/:id", Tag: "clusters", Summary: "Get a cluster",
		Guard:   a.ResourceRole(access.Viewer, a.clusterScope),
		Handler: Do(func(c *Call, _ *NoInput) (*cluster.View, error) { return cs.Get(c.Ctx, c.scope.ID) })})
	a.register(&Route{Method: http.MethodPut, Path: "/clusters/:id", Tag: "clusters",
		Summary: "Edit a cluster (cluster admins) or replace its credentials (platform admins; a new kubeconfig is validated by contacting the cluster)",
		Guard:   a.ResourceRole(access.Admin, a.clusterScope), Resource: "cluster",
		Example: cluster.UpdateInput{Description: ptr("eu-west production, 3 zones")},
		Handler: Do(func(c *Call, in *cluster.UpdateInput) (*cluster.View, error) {
			cl, err := cs.Update(c.Ctx, c.Principal, c.scope.ID, *in)
			if err == nil {
				c.Audit(cl.ID, cl.Name)
			}
			return cl, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/clusters/:id", Tag: "clusters",
		Summary: "Remove a cluster from KubeSpace with its role bindings and minted kubeconfig tokens (the cluster itself is untouched; refused while workspaces use it unless force=true)",
		Guard:   a.ResourceRole(access.Admin, a.clusterScope), Resource: "cluster", Example: DeleteClusterQuery{},
		Handler: Do(func(c *Call, q *DeleteClusterQuery) (NoContent, error) {
			cl, err := cs.Delete(c.Ctx, c.scope.ID, q.Force)
			if err == nil {
				c.Audit(cl.ID, cl.Name)
			}
			return NoContent{}, err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/clusters/:id/kubeconfig", Tag: "clusters",
		Summary: "Mint a cluster-limited, expiring API token and return a kubeconfig that reaches the cluster through KubeSpace",
		Guard:   a.ResourceRole(access.Viewer, a.clusterScope), Resource: "api_token", Action: "create_kubeconfig",
		Status: http.StatusCreated, Example: cluster.KubeconfigInput{ExpiresInDays: ptr(30)},
		Handler: Do(func(c *Call, in *cluster.KubeconfigInput) (*cluster.Kubeconfig, error) {
			ep := cluster.Endpoint{URL: a.publicURL(c) + Prefix + "/clusters/" + strconv.FormatInt(c.scope.ID, 10) + "/proxy", CA: a.deps.ServingCA}
			k, err := cs.MintKubeconfig(c.Ctx, c.Principal, c.scope.ID, *in, ep)
			if err == nil {
				c.Audit(k.TokenID, "kubeconfig for cluster "+strconv.FormatInt(c.scope.ID, 10))
			}
			return k, err
		})})
	a.register(&Route{Method: MethodAny, Path: "/clusters/:id/proxy/*path", Tag: "clusters",
		Summary: "The cluster's Kubernetes API (watch, logs, exec, attach, port-forward included), with KubeSpace permissions enforced per request",
		Guard:   a.ResourceRole(access.Viewer, a.clusterScope), KubernetesErrors: true, KubernetesAPI: true, Handler: Raw(a.proxy)})
}

// visibleClusters returns nil (all) for platform viewers, otherwise the clusters the caller holds
// a role in.
func (a *API) visibleClusters(c *Call) ([]int64, error) {
	if c.Principal.ClusterID != 0 {
		return []int64{c.Principal.ClusterID}, nil
	}
	if r, err := a.deps.Authorizer.RoleIn(c.Ctx, c.Principal, access.Platform); err != nil || r >= access.Viewer {
		return nil, err
	}
	perms, err := a.deps.Authorizer.Permissions(c.Ctx, c.Principal)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	for _, p := range perms {
		if p.Scope == store.ScopeCluster {
			ids = append(ids, p.ScopeID)
		}
	}
	return ids, nil
}

// proxy forwards one Kubernetes API request after checking the caller's role for it.
func (a *API) proxy(c *Call) error {
	apiPath := c.Param("path")
	if !strings.HasPrefix(apiPath, "/") {
		apiPath = "/" + apiPath
	}
	// The whole path as the client sent it: gin matched the route on the decoded path, so an
	// encoded separator anywhere must be refused here, before it is decoded into the decision.
	if err := kubeproxy.CheckPath(c.Request().URL); err != nil {
		return err
	}
	req := c.Request()
	probe := req.Clone(c.Ctx)
	probe.URL.Path, probe.URL.RawPath = apiPath, ""
	// First by the request line alone (a body only ever raises the role), so that a caller
	// refused anyway does not make the server buffer a body.
	d, err := kubeproxy.Decide(probe, nil)
	if err != nil {
		return err
	}
	if err := a.requireKube(c, d); err != nil {
		return err
	}
	var body []byte
	if d.Write && req.Method != http.MethodGet && req.Body != nil && req.ContentLength != 0 {
		// Then by the body (ServiceAccounts, token Secrets, the created object's name); the same
		// bounded bytes are forwarded.
		data, err := io.ReadAll(http.MaxBytesReader(c.Writer(), req.Body, maxProxyBody))
		if err != nil {
			return err
		}
		body = data
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.ContentLength = int64(len(data))
		if d, err = kubeproxy.Decide(probe, body); err != nil {
			return err
		}
		if err := a.requireKube(c, d); err != nil {
			return err
		}
	}
	rc, err := a.deps.Clusters.RESTConfig(c.Ctx, c.scope.ID)
	if err != nil {
		return err
	}
	if d.Write {
		c.Record(d.Info.Verb+subresource(d), "kubernetes/"+describeResource(d))
		name := d.Name
		if d.Info.Namespace != "" {
			name = d.Info.Namespace + "/" + name
		}
		c.Audit(d.Name, name)
		// A Secret's values also travel in patches, which carry no kind for redaction to
		// recognise: the audit log keeps no body of a Secret request.
		if body != nil && (d.Info.APIGroup != "" || d.Info.Resource != "secrets") {
			c.SetAuditBody(body)
		}
	}
	req, w, release := a.trackStream(c, d.Role)
	defer release()
	var proxyErr error
	a.deps.Proxies.Serve(w, req, c.scope.ID, rc, apiPath, func(err error) { proxyErr = err })
	if d.Write && d.Info.IsResourceRequest && c.gin.Writer.Status() < 400 {
		a.deps.Resources.Touched(c.scope.ID, d.Info.APIGroup, d.Info.Resource)
	}
	return proxyErr
}

func describeResource(d kubeproxy.Decision) string {
	if !d.Info.IsResourceRequest {
		return d.Info.Path
	}
	r := d.Info.Resource
	if d.Info.APIGroup != "" {
		r += "." + d.Info.APIGroup
	}
	return r + subresource(d)
}

func subresource(d kubeproxy.Decision) string {
	if d.Info.Subresource == "" {
		return ""
	}
	return "/" + d.Info.Subresource
}

// publicURL is where clients outside reach this server over HTTPS when possible: SERVER_URL, else
// the request's own host on the TLS port (kubectl never sends credentials over plain HTTP).
func (a *API) publicURL(c *Call) string {
	if a.deps.ServerURL != "" {
		return a.deps.ServerURL
	}
	req := c.Request()
	if req.TLS != nil {
		return "https://" + req.Host
	}
	if a.deps.TLSPort == 0 {
		return "http://" + req.Host
	}
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return "https://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(a.deps.TLSPort))
}
