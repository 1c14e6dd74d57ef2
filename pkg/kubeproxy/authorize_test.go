package kubeproxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/access"
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
		{"GET", "/api/v1/secrets", access.Editor, false, "list"},
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
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			d, err := kubeproxy.Decide(httptest.NewRequest(tc.method, tc.path, nil))
			require.NoError(t, err)
			require.Equal(t, tc.role.String(), d.Role.String(), "role")
			require.Equal(t, tc.write, d.Write, "write")
			require.Equal(t, tc.verb, d.Info.Verb, "verb")
		})
	}
}

// Decide sees the path the cluster will see: tricks that rename a resource in the path do not
// make a Secret look like something else.
func TestDecideUnusualPaths(t *testing.T) {
	t.Parallel()
	for _, path := range []string{
		"/api/v1/namespaces/team/secrets/",
		"/api/v1/namespaces/team/secrets/s/",
		"/api/v1/namespaces/team//secrets",
	} {
		d, err := kubeproxy.Decide(httptest.NewRequest(http.MethodGet, path, nil))
		require.NoError(t, err, path)
		if d.Info.IsResourceRequest && d.Info.Resource == "secrets" {
			require.Equal(t, access.Editor.String(), d.Role.String(), path)
		}
	}
}
