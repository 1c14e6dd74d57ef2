package httpapi

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/identity"
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

// KubeconfigInput asks for a kubeconfig.
type KubeconfigInput struct {
	ExpiresInDays *int `json:"expires_in_days"`
}

// Kubeconfig is a kubeconfig that reaches a cluster through KubeSpace with a minted token.
type Kubeconfig struct {
	Kubeconfig string    `json:"kubeconfig"`
	TokenID    int64     `json:"token_id"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func (a *API) registerClusters() {
	cs := a.deps.Clusters
	a.register(&Route{Method: http.MethodGet, Path: "/clusters", Tag: "clusters",
		Summary: "List the clusters you can see, with their live status",
		Guard:   Authenticated(), Example: ListQuery{Sort: "name"},
		Handler: Do(func(c *Call, q *ListQuery) (List[store.Cluster], error) {
			ids, err := a.visibleClusters(c)
			if err != nil {
				return List[store.Cluster]{}, err
			}
			p, err := cs.List(c.Ctx, ids, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/clusters", Tag: "clusters",
		Summary: "Import a cluster by kubeconfig (validated by contacting it), or register one that waits for its kube-agent",
		Guard:   a.PlatformRole(access.Admin), Resource: "cluster", Status: http.StatusCreated,
		Example: cluster.CreateInput{Name: "production", Description: "eu-west production"},
		Handler: Do(func(c *Call, in *cluster.CreateInput) (*store.Cluster, error) {
			cl, err := cs.Create(c.Ctx, *in)
			if err == nil {
				c.Audit(cl.ID, cl.Name)
			}
			return cl, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/clusters/:id", Tag: "clusters", Summary: "Get a cluster",
		Guard:   a.ResourceRole(access.Viewer, a.clusterScope),
		Handler: Do(func(c *Call, _ *NoInput) (*store.Cluster, error) { return cs.Get(c.Ctx, c.scope.ID) })})
	a.register(&Route{Method: http.MethodPut, Path: "/clusters/:id", Tag: "clusters",
		Summary: "Edit a cluster (cluster admins) or replace its credentials (platform admins; a new kubeconfig is validated by contacting the cluster)",
		Guard:   a.ResourceRole(access.Admin, a.clusterScope), Resource: "cluster",
		Example: cluster.UpdateInput{Description: ptr("eu-west production, 3 zones")},
		Handler: Do(func(c *Call, in *cluster.UpdateInput) (*store.Cluster, error) {
			if in.Kubeconfig != nil {
				// New credentials make the server contact a new address: as for an import,
				// only platform admins may.
				if err := a.deps.Authorizer.Require(c.Ctx, c.Principal, access.Platform, access.Admin); err != nil {
					return nil, errs.Forbiddenf("replacing a cluster's kubeconfig requires the admin role on the platform")
				}
			}
			cl, err := cs.Update(c.Ctx, c.scope.ID, *in)
			if err == nil {
				c.Audit(cl.ID, cl.Name)
			}
			return cl, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/clusters/:id", Tag: "clusters",
		Summary: "Remove a cluster from KubeSpace (the cluster itself is untouched)",
		Guard:   a.ResourceRole(access.Admin, a.clusterScope), Resource: "cluster", Example: DeleteClusterQuery{},
		Handler: Do(func(c *Call, q *DeleteClusterQuery) (NoContent, error) {
			cl, err := cs.Delete(c.Ctx, c.scope.ID)
			if err == nil {
				c.Audit(cl.ID, cl.Name)
				err = a.deps.Bindings.RemoveScope(c.Ctx, c.scope)
			}
			return NoContent{}, err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/clusters/:id/kubeconfig", Tag: "clusters",
		Summary: "Mint a cluster-limited, expiring API token and return a kubeconfig that reaches the cluster through KubeSpace",
		Guard:   a.ResourceRole(access.Viewer, a.clusterScope), Resource: "api_token", Action: "create_kubeconfig",
		Status: http.StatusCreated, Example: KubeconfigInput{ExpiresInDays: ptr(30)},
		Handler: Do(a.kubeconfig)})
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

func (a *API) kubeconfig(c *Call, in *KubeconfigInput) (*Kubeconfig, error) {
	days := 30
	if in.ExpiresInDays != nil {
		days = *in.ExpiresInDays
	}
	if days < 1 || days > 365 {
		return nil, errs.Field("expires_in_days", "must be between 1 and 365")
	}
	cl, err := a.deps.Clusters.Get(c.Ctx, c.scope.ID)
	if err != nil {
		return nil, err
	}
	expires := time.Now().UTC().Add(time.Duration(days) * 24 * time.Hour)
	tok, err := a.deps.Identity.CreateToken(c.Ctx, c.Principal,
		identity.CreateTokenInput{Name: "kubeconfig for cluster " + cl.Name, ExpiresAt: &expires}, cl.ID)
	if err != nil {
		return nil, err
	}
	c.Audit(tok.ID, tok.Name)
	name := "kubespace-" + cl.Name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: a.publicURL(c) + Prefix + "/clusters/" + c.Param("id") + "/proxy",
		CertificateAuthorityData: a.deps.ServingCA}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, err
	}
	return &Kubeconfig{Kubeconfig: string(data), TokenID: tok.ID, ExpiresAt: expires}, nil
}

// proxy forwards one Kubernetes API request after checking the caller's role for it.
func (a *API) proxy(c *Call) error {
	apiPath := c.Param("path")
	if !strings.HasPrefix(apiPath, "/") {
		apiPath = "/" + apiPath
	}
	probe := c.Request().Clone(c.Ctx)
	probe.URL.Path = apiPath
	d, err := kubeproxy.Decide(probe)
	if err != nil {
		return errs.Invalidf("not a Kubernetes API path: %s", apiPath)
	}
	if err := a.deps.Authorizer.Require(c.Ctx, c.Principal, c.scope, d.Role); err != nil {
		return errs.Forbiddenf("%s %s in cluster %d requires the %s role", d.Info.Verb, describeResource(d), c.scope.ID, d.Role)
	}
	rc, err := a.deps.Clusters.RESTConfig(c.Ctx, c.scope.ID)
	if err != nil {
		return err
	}
	if d.Write {
		c.Record(d.Info.Verb+subresource(d), "kubernetes/"+describeResource(d))
		name := d.Info.Name
		if d.Info.Namespace != "" {
			name = d.Info.Namespace + "/" + name
		}
		c.Audit(d.Info.Name, name)
		if body := c.Request().Body; body != nil && c.Request().ContentLength != 0 {
			data, err := io.ReadAll(http.MaxBytesReader(c.Writer(), body, maxProxyBody))
			if err != nil {
				return err
			}
			// A Secret's values also travel in patches, which carry no kind for redaction to
			// recognise: the audit log keeps no body of a Secret request.
			if d.Info.APIGroup != "" || d.Info.Resource != "secrets" {
				c.SetAuditBody(data)
			}
			c.Request().Body = io.NopCloser(bytes.NewReader(data))
			c.Request().ContentLength = int64(len(data))
		}
	}
	var proxyErr error
	a.deps.Proxies.Serve(c.Writer(), c.Request(), c.scope.ID, rc, apiPath, func(err error) { proxyErr = err })
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
