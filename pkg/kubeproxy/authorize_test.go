package kubeproxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/kubeproxy"
)

// The table is written from the rules, not from the code: viewer = get/list/watch of everything
// but Secrets (and discovery); editor = every verb on namespaced resources, reading Secrets,
// exec/attach/port-forward and pods/services proxy (counted as writes); admin = everything,
// including RBAC writes, cluster-scoped writes and node proxy.
func TestDecide(t *testing.T) {
	t.Parallel()
	const (
		ns   = "/api/v1/namespaces/team"
		apps = "/apis/apps/v1/namespaces/team"
		rbac = "/apis/rbac.authorization.k8s.io/v1"
	)
	cases := []struct {
		method, path string
		role         access.Role
		write        bool
		verb         string
	}{
		// Reads of ordinary resources.
		{"GET", ns + "/pods", access.Viewer, false, "list"},
		{"GET", ns + "/pods/web-0", access.Viewer, false, "get"},
		{"GET", ns + "/pods?watch=true", access.Viewer, false, "watch"},
		{"GET", "/api/v1/watch/namespaces/team/pods", access.Viewer, false, "watch"},
		{"GET", "/api/v1/pods", access.Viewer, false, "list"},
		{"GET", ns + "/pods/web-0/log?follow=true", access.Viewer, false, "get"},
		{"GET", apps + "/deployments", access.Viewer, false, "list"},
		{"GET", apps + "/deployments/web", access.Viewer, false, "get"},
		{"GET", "/api/v1/nodes", access.Viewer, false, "list"},
		{"GET", "/api/v1/namespaces", access.Viewer, false, "list"},
		{"GET", "/api/v1/namespaces/team", access.Viewer, false, "get"},
		{"GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", access.Viewer, false, "list"},
		// Namespaced writes.
		{"POST", ns + "/configmaps", access.Editor, true, "create"},
		{"PUT", ns + "/configmaps/c", access.Editor, true, "update"},
		{"PATCH", ns + "/configmaps/c", access.Editor, true, "patch"},
		{"DELETE", ns + "/configmaps/c", access.Editor, true, "delete"},
		{"DELETE", ns + "/configmaps", access.Editor, true, "deletecollection"},
		{"PATCH", apps + "/deployments/web/scale", access.Editor, true, "patch"},
		{"POST", ns + "/pods/web-0/eviction", access.Editor, true, "create"},
		// Interactive subresources are writes whatever the method.
		{"POST", ns + "/pods/web-0/exec?command=sh", access.Editor, true, "create"},
		{"GET", ns + "/pods/web-0/exec?command=sh", access.Editor, true, "get"},
		{"POST", ns + "/pods/web-0/attach", access.Editor, true, "create"},
		{"GET", ns + "/pods/web-0/attach", access.Editor, true, "get"},
		{"POST", ns + "/pods/web-0/portforward", access.Editor, true, "create"},
		{"GET", ns + "/pods/web-0/portforward", access.Editor, true, "get"},
		{"GET", ns + "/pods/web-0/proxy/metrics", access.Editor, true, "get"},
		{"GET", ns + "/services/web:80/proxy/", access.Editor, true, "get"},
		{"GET", "/api/v1/nodes/n1/proxy/metrics", access.Admin, true, "get"},
		// Secrets: reading needs editor too.
		{"GET", ns + "/secrets", access.Editor, false, "list"},
		{"GET", ns + "/secrets/s", access.Editor, false, "get"},
		{"GET", ns + "/secrets?watch=1", access.Editor, false, "watch"},
		// ... except across all namespaces, which includes the system namespaces.
		{"GET", "/api/v1/secrets", access.Admin, false, "list"},
		{"GET", "/api/v1/watch/secrets", access.Admin, false, "watch"},
		{"POST", ns + "/secrets", access.Editor, true, "create"},
		{"DELETE", ns + "/secrets/s", access.Editor, true, "delete"},
		// RBAC: read as viewer, write as admin (namespaced Roles too).
		{"GET", rbac + "/namespaces/team/roles", access.Viewer, false, "list"},
		{"GET", rbac + "/clusterroles/view", access.Viewer, false, "get"},
		{"POST", rbac + "/namespaces/team/roles", access.Admin, true, "create"},
		{"POST", rbac + "/namespaces/team/rolebindings", access.Admin, true, "create"},
		{"PATCH", rbac + "/clusterroles/view", access.Admin, true, "patch"},
		{"DELETE", rbac + "/clusterrolebindings/x", access.Admin, true, "delete"},
		// Cluster-scoped writes.
		{"POST", "/api/v1/namespaces", access.Admin, true, "create"},
		{"DELETE", "/api/v1/namespaces/team", access.Admin, true, "delete"},
		{"PUT", "/api/v1/namespaces/team/finalize", access.Admin, true, "update"},
		{"PATCH", "/api/v1/nodes/n1", access.Admin, true, "patch"},
		{"POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", access.Admin, true, "create"},
		{"POST", "/apis/storage.k8s.io/v1/storageclasses", access.Admin, true, "create"},
		// Self reviews are answered for KubeSpace's identity and harmless.
		{"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", access.Viewer, false, "create"},
		{"POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", access.Viewer, false, "create"},
		// Non-resource paths: reads for viewers, anything else for admins.
		{"GET", "/version", access.Viewer, false, "get"},
		{"GET", "/api", access.Viewer, false, "get"},
		{"GET", "/apis", access.Viewer, false, "get"},
		{"GET", "/openapi/v3", access.Viewer, false, "get"},
		{"HEAD", "/healthz", access.Viewer, false, "head"},
		{"GET", "/livez", access.Viewer, false, "get"},
		{"GET", "/readyz?verbose", access.Viewer, false, "get"},
		{"GET", "/api/v1", access.Viewer, false, "get"},
		{"GET", "/apis/apps/v1", access.Viewer, false, "get"},
		{"GET", "/openapi/v2", access.Viewer, false, "get"},
		{"GET", "/.well-known/openid-configuration", access.Viewer, false, "get"},
		{"GET", "/openid/v1/jwks", access.Viewer, false, "get"},
		{"POST", "/version", access.Admin, true, "post"},
		// Other non-resource paths expose the API server's host: admin only.
		{"GET", "/metrics", access.Admin, false, "get"},
		{"GET", "/logs/", access.Admin, false, "get"},
		{"GET", "/logs/syslog", access.Admin, false, "get"},
		{"GET", "/debug/pprof/profile", access.Admin, false, "get"},
		{"GET", "/flagz", access.Admin, false, "get"},
		{"GET", "/statusz", access.Admin, false, "get"},
		{"GET", "/apisx", access.Admin, false, "get"},
		{"GET", "/versionz", access.Admin, false, "get"},
		// ServiceAccount tokens are minted by admins only, in every namespace.
		{"POST", ns + "/serviceaccounts/builder/token", access.Admin, true, "create"},
		{"POST", "/api/v1/namespaces/kube-system/serviceaccounts/clusterrole-aggregation-controller/token", access.Admin, true, "create"},
		{"POST", ns + "/serviceaccounts", access.Editor, true, "create"},
		{"GET", ns + "/serviceaccounts/builder", access.Viewer, false, "get"},
		// System namespaces: every write, exec and proxy session, and Secret reads, need admin;
		// other reads stay with viewers.
		{"POST", "/api/v1/namespaces/kube-system/configmaps", access.Admin, true, "create"},
		{"PATCH", "/apis/apps/v1/namespaces/kube-system/deployments/coredns", access.Admin, true, "patch"},
		{"DELETE", "/api/v1/namespaces/kube-public/configmaps/cluster-info", access.Admin, true, "delete"},
		{"DELETE", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", access.Admin, true, "deletecollection"},
		{"POST", "/api/v1/namespaces/kubespace-system/pods/agent-0/eviction", access.Admin, true, "create"},
		{"POST", "/api/v1/namespaces/kube-system/pods/etcd-0/exec?command=sh", access.Admin, true, "create"},
		{"GET", "/api/v1/namespaces/kube-system/pods/etcd-0/exec?command=sh", access.Admin, true, "get"},
		{"POST", "/api/v1/namespaces/kube-system/pods/etcd-0/portforward", access.Admin, true, "create"},
		{"GET", "/api/v1/namespaces/kube-system/services/kube-dns:53/proxy/", access.Admin, true, "get"},
		{"GET", "/api/v1/namespaces/kube-system/secrets", access.Admin, false, "list"},
		{"GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef", access.Admin, false, "get"},
		{"GET", "/api/v1/watch/namespaces/kubespace-system/secrets", access.Admin, false, "watch"},
		{"GET", "/api/v1/namespaces/kube-system/pods", access.Viewer, false, "list"},
		{"GET", "/api/v1/namespaces/kube-system/pods/etcd-0/log", access.Viewer, false, "get"},
		{"GET", "/api/v1/namespaces/kube-system/configmaps/kube-proxy", access.Viewer, false, "get"},
		{"GET", "/api/v1/namespaces/kube-system", access.Viewer, false, "get"},
		{"PATCH", "/api/v1/namespaces/kube-system", access.Admin, true, "patch"},
		// A namespace merely named like a system one is ordinary.
		{"POST", "/api/v1/namespaces/kube-systemx/configmaps", access.Editor, true, "create"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			d, err := kubeproxy.Decide(httptest.NewRequest(tc.method, tc.path, nil), nil)
			require.NoError(t, err)
			require.Equal(t, tc.role.String(), d.Role.String(), "role")
			require.Equal(t, tc.write, d.Write, "write")
			require.Equal(t, tc.verb, d.Info.Verb, "verb")
		})
	}
}

// Decide sees the path the cluster will see, and refuses a path that is not canonical rather
// than guessing how the cluster, or anything between, reads it.
func TestDecideRefusesNonCanonicalPaths(t *testing.T) {
	t.Parallel()
	for _, path := range []string{
		"/api/v1/namespaces/team//secrets",
		"//api/v1/namespaces/team/secrets",
		"/api/v1/namespaces/team/configmaps/x/../../secrets",
		"/api/v1/namespaces/team/configmaps/..",
		"/api/v1/namespaces/team/./secrets",
		"/api/v1/namespaces/team/configmaps/%2e%2e/%2E%2E/secrets",
		"/api/v1/namespaces/team/configmaps/x%2F..%2F..%2Fsecrets",
		"/api/v1/namespaces/team/configmaps/x%2f..%2fsecrets",
		"/api/v1/namespaces/team/configmaps/x%5C..%5csecrets",
		"/api/v1/namespaces/team/configmaps/x%00",
		"/api/v1/namespaces/team/configmaps/x\\y",
		"/api/v1/namespaces/kube-system/pods/p/proxy/a//b",
	} {
		t.Run(path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			u, err := url.Parse("http://cluster" + path)
			require.NoError(t, err)
			req.URL = u
			_, err = kubeproxy.Decide(req, nil)
			require.Error(t, err)
			e, ok := errs.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, errs.Invalid, e.Kind)
			require.Equal(t, "non_canonical_path", e.StableCode())
		})
	}
	// Trailing slashes are canonical: Kubernetes serves them, and a service proxy needs them.
	for _, path := range []string{"/api/v1/namespaces/team/secrets/", "/logs/", "/api/v1/namespaces/team/services/web:80/proxy/", "/"} {
		_, err := kubeproxy.Decide(httptest.NewRequest(http.MethodGet, path, nil), nil)
		require.NoError(t, err, path)
	}
	d, err := kubeproxy.Decide(httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/team/secrets/", nil), nil)
	require.NoError(t, err)
	require.Equal(t, access.Editor.String(), d.Role.String())
}
