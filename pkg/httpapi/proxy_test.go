package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

// proxyFixtures are objects (made directly in the cluster) the matrix reads and writes.
func proxyFixtures(t *testing.T, e *kubeEnv, ns string) {
	t.Helper()
	e.kube.Kubectl(t, `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  nodeName: kwok-node-0
  containers: [{name: c, image: busybox}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 0
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
`, "apply", "-n", ns, "-f", "-")
}

// proxyCase is one request of the permission matrix.
type proxyCase struct {
	name, method, path string
	body               any    // JSON body (merge patch for PATCH)
	need               string // the role the rules require: viewer, editor or admin
	want               int    // the cluster's answer when allowed (0: anything but 401/403)
}

func proxyCases(ns string) []proxyCase {
	n := "/api/v1/namespaces/" + ns
	apps := "/apis/apps/v1/namespaces/" + ns
	rbac := "/apis/rbac.authorization.k8s.io/v1"
	dry := "?dryRun=All"
	obj := func(apiVersion, kind, name string, extra map[string]any) map[string]any {
		o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}
		for k, v := range extra {
			o[k] = v
		}
		return o
	}
	return []proxyCase{
		// read
		{"list pods", "GET", n + "/pods", nil, "viewer", 200},
		{"get pod", "GET", n + "/pods/p", nil, "viewer", 200},
		{"watch pods", "GET", n + "/pods?watch=true&timeoutSeconds=1", nil, "viewer", 200},
		{"pod log", "GET", n + "/pods/p/log", nil, "viewer", 0},
		{"list deployments", "GET", apps + "/deployments", nil, "viewer", 200},
		{"get deployment", "GET", apps + "/deployments/d", nil, "viewer", 200},
		{"watch deployments", "GET", apps + "/deployments?watch=1&timeoutSeconds=1", nil, "viewer", 200},
		{"list pods everywhere", "GET", "/api/v1/pods?limit=1", nil, "viewer", 200},
		// write
		{"create configmap", "POST", n + "/configmaps" + dry, obj("v1", "ConfigMap", "new", nil), "editor", 201},
		{"patch configmap", "PATCH", n + "/configmaps/cm" + dry, map[string]any{"data": map[string]string{"k": "w"}}, "editor", 200},
		{"delete configmap", "DELETE", n + "/configmaps/cm" + dry, nil, "editor", 200},
		{"scale deployment", "PATCH", apps + "/deployments/d/scale" + dry, map[string]any{"spec": map[string]int{"replicas": 1}}, "editor", 200},
		// interactive: writes
		{"exec", "POST", n + "/pods/p/exec?command=true&stdout=true", nil, "editor", 0},
		{"attach", "POST", n + "/pods/p/attach?stdout=true", nil, "editor", 0},
		{"port-forward", "POST", n + "/pods/p/portforward?ports=80", nil, "editor", 0},
		{"service proxy", "GET", n + "/services/svc:80/proxy/", nil, "editor", 0},
		{"node proxy", "GET", "/api/v1/nodes/kwok-node-0/proxy/healthz", nil, "admin", 0},
		// secrets
		{"list secrets", "GET", n + "/secrets", nil, "editor", 200},
		{"get secret", "GET", n + "/secrets/s", nil, "editor", 200},
		{"watch secrets", "GET", n + "/secrets?watch=1&timeoutSeconds=1", nil, "editor", 200},
		{"create secret", "POST", n + "/secrets" + dry, obj("v1", "Secret", "new", nil), "editor", 201},
		// RBAC
		{"list roles", "GET", rbac + "/namespaces/" + ns + "/roles", nil, "viewer", 200},
		{"get clusterrole", "GET", rbac + "/clusterroles/view", nil, "viewer", 200},
		{"create role", "POST", rbac + "/namespaces/" + ns + "/roles" + dry, obj("rbac.authorization.k8s.io/v1", "Role", "new", nil), "admin", 201},
		{"create clusterrolebinding", "POST", rbac + "/clusterrolebindings" + dry, obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", uniq("kstest"),
			map[string]any{"roleRef": map[string]string{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}}), "admin", 201},
		// cluster-scoped writes
		{"create namespace", "POST", "/api/v1/namespaces" + dry, obj("v1", "Namespace", uniq("kstest"), nil), "admin", 201},
		{"label node", "PATCH", "/api/v1/nodes/kwok-node-0" + dry, map[string]any{"metadata": map[string]any{"labels": map[string]string{"kstest": "x"}}}, "admin", 200},
		{"delete own namespace", "DELETE", n + dry, nil, "admin", 200},
		// non-resource
		{"version", "GET", "/version", nil, "viewer", 200},
		{"api", "GET", "/api", nil, "viewer", 200},
		{"apis", "GET", "/apis", nil, "viewer", 200},
		{"group version", "GET", "/apis/apps/v1", nil, "viewer", 200},
		{"openapi", "GET", "/openapi/v3", nil, "viewer", 200},
		{"livez", "GET", "/livez", nil, "viewer", 200},
		{"metrics", "GET", "/metrics", nil, "admin", 200},
		{"logs", "GET", "/logs/", nil, "admin", 0},
	}
}

var roleRank = map[string]int{"": 0, "viewer": 1, "editor": 2, "admin": 3}

// send sends a matrix request as c with extra headers.
func (pc proxyCase) send(t *testing.T, e *kubeEnv, c *apitest.Client, id int64, extra http.Header) *kubeResponse {
	var body, ct string
	if pc.body != nil {
		b, err := json.Marshal(pc.body)
		require.NoError(t, err)
		body, ct = string(b), "application/json"
		if pc.method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
	}
	return e.kubeCall(t, c, id, pc.method, pc.path, ct, body, extra)
}

func TestProxyPermissionMatrix(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	main, other := e.importCluster(t, "main"), e.importCluster(t, "other")
	ns := e.namespace(t, "ks-matrix")
	proxyFixtures(t, e, ns)
	callers := []struct {
		client *apitest.Client
		role   string // effective role in cluster main
	}{
		{e.user(t, "cviewer", main, "viewer"), "viewer"},
		{e.user(t, "ceditor", main, "editor"), "editor"},
		{e.user(t, "cadmin", main, "admin"), "admin"},
		{e.s.User(e.admin, "padmin", "platform", 0, "admin"), "admin"},
		{e.user(t, "elsewhere", other, "admin"), ""},
	}
	for _, caller := range callers {
		t.Run(caller.client.Name, func(t *testing.T) {
			t.Parallel()
			for _, pc := range proxyCases(ns) {
				t.Run(pc.name, func(t *testing.T) {
					r := pc.send(t, e, caller.client, main, nil)
					if roleRank[caller.role] < roleRank[pc.need] {
						require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
						code, msg := r.kubespaceError(t)
						require.Equal(t, "forbidden", code)
						if caller.role != "" {
							require.Contains(t, msg, "requires the "+pc.need+" role")
						}
						return
					}
					require.NotContains(t, []int{401, 403}, r.Status, "%s", r.Body)
					if pc.want != 0 {
						require.Equal(t, pc.want, r.Status, "%s", r.Body)
					}
				})
			}
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		for _, pc := range proxyCases(ns)[:3] {
			r := pc.send(t, e, nil, main, nil)
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
		}
	})
}

// Client credentials and impersonation headers never reach the cluster and never widen a
// caller's rights; writes and interactive sessions are audited with the KubeSpace user.
func TestProxyHeadersAndAudit(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-headers")
	proxyFixtures(t, e, ns)
	viewer := e.user(t, "cviewer", id, "viewer")
	editor := e.user(t, "ceditor", id, "editor")
	padmin := e.s.User(e.admin, "padmin", "platform", 0, "admin")
	sneaky := http.Header{
		"Impersonate-User":  {"system:admin"},
		"Impersonate-Group": {"system:masters"},
		"Cookie":            {"kubespace_session=" + editor.Token + "; other=1"},
	}
	cm := func(name string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}}
	}
	body := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	t.Run("a viewer stays a viewer", func(t *testing.T) {
		for _, pc := range []proxyCase{
			{"write", "POST", "/api/v1/namespaces/" + ns + "/configmaps", cm("escalated"), "editor", 0},
			{"secrets", "GET", "/api/v1/namespaces/" + ns + "/secrets", nil, "editor", 0},
			{"cluster-scoped", "POST", "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": uniq("kstest")}}, "admin", 0},
		} {
			r := pc.send(t, e, viewer, id, sneaky)
			require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", pc.name, r.Body)
			code, _ := r.kubespaceError(t)
			require.Equal(t, "forbidden", code)
		}
		_, err := e.kube.TryKubectl("", "get", "configmap", "-n", ns, "escalated")
		require.Error(t, err, "nothing was written")
	})

	t.Run("impersonation is stripped", func(t *testing.T) {
		// Were Impersonate-* forwarded, the cluster would act as a user without any RBAC
		// binding and refuse the write.
		nobody := http.Header{"Impersonate-User": {"kstest-nobody"}, "Impersonate-Group": {"kstest-nobody-group"},
			"Impersonate-Uid": {"1234"}, "Cookie": {"other=1"}}
		r := e.kubeCall(t, editor, id, http.MethodPost, "/api/v1/namespaces/"+ns+"/configmaps", "application/json", body(cm("by-editor")), nobody)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		e.kube.Kubectl(t, "", "get", "configmap", "-n", ns, "by-editor")

		// The cluster tells who it thinks is asking: KubeSpace's own identity.
		review := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
		r = e.kubeCall(t, padmin, id, http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews", "application/json", body(review), nobody)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var out struct {
			Status struct {
				UserInfo struct {
					Username string   `json:"username"`
					Groups   []string `json:"groups"`
				} `json:"userInfo"`
			} `json:"status"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &out))
		require.NotEqual(t, "kstest-nobody", out.Status.UserInfo.Username)
		require.Contains(t, out.Status.UserInfo.Groups, "system:masters", "the testenv kubeconfig's identity")
	})

	t.Run("writes and sessions are audited", func(t *testing.T) {
		path := "/api/v1/namespaces/" + ns + "/configmaps"
		e.kubeCall(t, editor, id, http.MethodPost, path, "application/json", body(cm("audited")), nil)
		// Creates name the object from the body: metadata.name, or generateName followed by *,
		// in JSON or YAML.
		generated := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"generateName": "gen-"}}
		r := e.kubeCall(t, editor, id, http.MethodPost, path, "application/json", body(generated), nil)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		r = e.kubeCall(t, editor, id, http.MethodPost, path, "application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n", nil)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		e.kubeCall(t, editor, id, http.MethodPatch, path+"/audited", "application/merge-patch+json", `{"data":{"a":"b"}}`, nil)
		e.kubeCall(t, editor, id, http.MethodDelete, path+"/audited", "", "", nil)
		e.kubeCall(t, editor, id, http.MethodPost, "/api/v1/namespaces/"+ns+"/pods/p/exec?command=true&stdout=true", "", "", nil)
		e.kubeCall(t, editor, id, http.MethodGet, path, "", "", nil) // reads are not audited
		want := []struct{ action, resource, name string }{
			{"create", "kubernetes/configmaps", ns + "/audited"},
			{"create", "kubernetes/configmaps", ns + "/gen-*"},
			{"create", "kubernetes/configmaps", ns + "/from-yaml"},
			{"patch", "kubernetes/configmaps", ns + "/audited"},
			{"delete", "kubernetes/configmaps", ns + "/audited"},
			{"create/exec", "kubernetes/pods/exec", ns + "/p"},
		}
		var got []kubeAuditEvent
		eventually(t, "the exec is in the audit log", func() bool {
			got = e.clusterAudit(t, id, url.Values{"username": {"ceditor"}})
			for _, ev := range got {
				if ev.Action == "create/exec" {
					return true
				}
			}
			return false
		})
		seen := map[string]bool{}
		for _, ev := range got {
			require.Equal(t, "ceditor", ev.Username)
			require.Equal(t, "cluster", ev.Scope)
			require.Equal(t, id, ev.ScopeID)
			require.NotEqual(t, "list", ev.Action, "reads are not audited")
			seen[ev.Action+" "+ev.ResourceType+" "+ev.ResourceName] = true
		}
		for _, w := range want {
			require.True(t, seen[w.action+" "+w.resource+" "+w.name], "no %s %s %s in the audit log: %v", w.action, w.resource, w.name, seen)
		}
		// A denied write is audited as a failure for the viewer.
		denied := e.clusterAudit(t, id, url.Values{"username": {"cviewer"}})
		require.NotEmpty(t, denied)
		for _, ev := range denied {
			require.Equal(t, "failure", ev.Result)
			require.Equal(t, http.StatusForbidden, ev.StatusCode)
		}
		// Secrets written through the proxy never land in the audit log.
		secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "audited"},
			"stringData": map[string]string{"password": "s3cr3t-value-kstest"}}
		r = e.kubeCall(t, editor, id, http.MethodPost, "/api/v1/namespaces/"+ns+"/secrets", "application/json", body(secret), nil)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		// Nor do the values of patches to Secrets, which carry no kind.
		secretPath := "/api/v1/namespaces/" + ns + "/secrets/audited"
		for _, p := range []struct{ contentType, body string }{
			{"application/merge-patch+json", `{"stringData":{"greeting":"s3cr3t-value-kstest-merge"}}`},
			{"application/strategic-merge-patch+json", `{"stringData":{"motd":"s3cr3t-value-kstest-strategic"}}`},
			{"application/json-patch+json", `[{"op":"add","path":"/stringData","value":{"note":"s3cr3t-value-kstest-jsonpatch"}}]`},
		} {
			r = e.kubeCall(t, editor, id, http.MethodPatch, secretPath, p.contentType, p.body, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		}
		eventually(t, "the patches are audited", func() bool {
			return len(e.clusterAudit(t, id, url.Values{"username": {"ceditor"}, "action": {"patch"}})) >= 4
		})
		all := e.admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?limit=1000", nil)
		require.False(t, strings.Contains(string(all.Body), "s3cr3t-value-kstest"), "audit log holds the secret: %s", all.Body)
	})
}

// A cluster whose kube-agent never connected answers 503 everywhere it would be reached.
func TestProxyToAgentClusterIsUnavailable(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	id := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/clusters", map[string]any{"name": "edge"}).ID(t)
	for _, path := range []string{
		apitest.Path("/api/v1/clusters/%d/resources/pods", id),
		apitest.Path("/api/v1/clusters/%d/kinds", id),
		apitest.Path("/api/v1/clusters/%d/overview", id),
	} {
		r := admin.Do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s: %s", path, r.Body)
		require.Contains(t, string(r.Body), "cluster_unavailable")
	}
	e := &kubeEnv{s: s}
	r := e.kubeCall(t, admin, id, http.MethodGet, "/version", "", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Body)
	code, _ := r.kubespaceError(t)
	require.Equal(t, "cluster_unavailable", code)
}
