package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

// escalation is one request an editor could once use to act with more than an editor's rights.
type escalation struct {
	name, method, path, contentType, body string
	admin                                 int    // the cluster's answer for a cluster admin
	says                                  string // part of the refusal's reason
}

// An editor of a cluster cannot turn into its admin through the proxy: no ServiceAccount tokens,
// no pods running as another ServiceAccount (however the body says so), no token Secrets, no
// writes in system namespaces and no Secrets of theirs. A cluster admin may do all of it. The
// editor's ordinary writes keep working.
func TestProxyEditorCannotBecomeAdmin(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-escalate")
	proxyFixtures(t, e, ns)
	e.kube.Kubectl(t, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder}\n", "apply", "-n", ns, "-f", "-")
	editor := e.user(t, "ceditor", id, "editor")
	cadmin := e.user(t, "cadmin", id, "admin")

	n := "/api/v1/namespaces/" + ns
	apps := "/apis/apps/v1/namespaces/" + ns
	const dry = "?dryRun=All"
	sysCM := uniq("kstest-sys")
	token := `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":600}}`
	pod := func(sa string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"runs-as"},"spec":{"serviceAccountName":"` + sa +
			`","nodeName":"kwok-node-0","containers":[{"name":"c","image":"busybox"}]}}`
	}
	deployment := func(name, sa string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `"},"spec":{"replicas":0,` +
			`"selector":{"matchLabels":{"app":"` + name + `"}},"template":{"metadata":{"labels":{"app":"` + name + `"}},` +
			`"spec":{"serviceAccountName":"` + sa + `","containers":[{"name":"c","image":"busybox"}]}}}}`
	}
	cases := []escalation{
		{"token for a kube-system ServiceAccount", "POST", "/api/v1/namespaces/kube-system/serviceaccounts/default/token", "application/json", token, 201, "minting ServiceAccount tokens"},
		{"token for a ServiceAccount of the editor's namespace", "POST", n + "/serviceaccounts/builder/token", "application/json", token, 201, "minting ServiceAccount tokens"},
		{"pod as another ServiceAccount", "POST", n + "/pods" + dry, "application/json", pod("builder"), 201, `ServiceAccount "builder"`},
		{"pod as YAML", "POST", n + "/pods" + dry, "application/yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: yaml-pod}\nspec:\n  serviceAccount: builder\n  containers: [{name: c, image: busybox}]\n", 201, `"builder"`},
		{"pod as protobuf", "POST", n + "/pods" + dry, "application/vnd.kubernetes.protobuf", "k8s\x00\n\x04\n\x02v1\x12\x03Pod", 0, "send JSON or YAML"},
		{"deployment as another ServiceAccount", "POST", apps + "/deployments" + dry, "application/json", deployment("runs-as", "builder"), 201, `"builder"`},
		{"strategic merge patch", "PATCH", apps + "/deployments/d" + dry, "application/strategic-merge-patch+json", `{"spec":{"template":{"spec":{"serviceAccountName":"builder"}}}}`, 200, `"builder"`},
		{"json patch", "PATCH", apps + "/deployments/d" + dry, "application/json-patch+json", `[{"op":"add","path":"/spec/template/spec/serviceAccountName","value":"builder"}]`, 200, `"builder"`},
		{"server-side apply", "PATCH", apps + "/deployments/d" + dry + "&fieldManager=kstest&force=true", "application/apply-patch+yaml",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      serviceAccountName: builder\n", 200, `"builder"`},
		{"ephemeral container", "PATCH", n + "/pods/p/ephemeralcontainers", "application/strategic-merge-patch+json", `{"spec":{"serviceAccountName":"builder"}}`, 0, `"builder"`},
		{"ServiceAccount token Secret", "POST", n + "/secrets" + dry, "application/json",
			`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"tok","annotations":{"kubernetes.io/service-account.name":"builder"}},"type":"kubernetes.io/service-account-token"}`, 201, "ServiceAccount token Secret"},
		{"configmap in kube-system", "POST", "/api/v1/namespaces/kube-system/configmaps" + dry, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + sysCM + `"}}`, 201, "kube-system is a system namespace"},
		{"delete in kube-public", "DELETE", "/api/v1/namespaces/kube-public/configmaps/kstest-missing", "", "", 404, "kube-public is a system namespace"},
		{"exec in kube-system", "POST", "/api/v1/namespaces/kube-system/pods/kstest-missing/exec?command=true&stdout=true", "", "", 0, "kube-system is a system namespace"},
		{"kube-system Secrets", "GET", "/api/v1/namespaces/kube-system/secrets", "", "", 200, "hold the cluster's credentials"},
		{"Secrets of all namespaces", "GET", "/api/v1/secrets?limit=1", "", "", 200, "all namespaces"},
	}
	// Should the rules fail, do not leave the object in the shared cluster's kube-system.
	t.Cleanup(func() {
		_, _ = e.kube.TryKubectl("", "delete", "configmap", "-n", "kube-system", sysCM, "--ignore-not-found")
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.kubeCall(t, editor, id, tc.method, tc.path, tc.contentType, tc.body, nil)
			require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
			code, msg := r.kubespaceError(t)
			require.Equal(t, "forbidden", code)
			require.Contains(t, msg, "requires the admin role")
			require.Contains(t, msg, tc.says)

			r = e.kubeCall(t, cadmin, id, tc.method, tc.path, tc.contentType, tc.body, nil)
			require.NotContains(t, []int{401, 403}, r.Status, "%s", r.Body)
			if tc.admin != 0 {
				require.Equal(t, tc.admin, r.Status, "%s", r.Body)
			}
		})
	}
	_, err := e.kube.TryKubectl("", "get", "configmap", "-n", "kube-system", sysCM)
	require.Error(t, err, "dry runs only")

	t.Run("cached lists follow the same rules", func(t *testing.T) {
		secrets := apitest.Path("/api/v1/clusters/%d/resources/secrets", id)
		for _, q := range []string{"", "?namespace=kube-system"} {
			r := editor.For(t).Do(http.MethodGet, secrets+q, nil)
			require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", q, r.Body)
			require.Contains(t, errorOf(t, r).Message, "requires the admin role")
			cadmin.For(t).Expect(http.StatusOK, http.MethodGet, secrets+q, nil)
		}
		editor.For(t).Expect(http.StatusOK, http.MethodGet, secrets+"?namespace="+ns, nil)
	})

	t.Run("the editor's ordinary writes still work", func(t *testing.T) {
		for _, w := range []struct{ method, path, contentType, body string }{
			{"POST", n + "/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ordinary"},"data":{"a":"b"}}`},
			{"POST", apps + "/deployments", "application/json", deployment("ordinary", "default")},
			{"POST", apps + "/deployments", "application/json", strings.Replace(deployment("implicit", ""), `"serviceAccountName":"",`, "", 1)},
			{"PATCH", apps + "/deployments/ordinary", "application/strategic-merge-patch+json", `{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}}}`},
			{"PATCH", apps + "/deployments/ordinary/scale", "application/merge-patch+json", `{"spec":{"replicas":0}}`},
			{"POST", n + "/pods" + dry, "application/json", pod("default")},
			{"POST", n + "/secrets", "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"opaque"},"stringData":{"k":"v"}}`},
			{"GET", n + "/secrets/opaque", "", ""},
			{"POST", n + "/serviceaccounts", "application/json", `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"helper"}}`},
		} {
			r := e.kubeCall(t, editor, id, w.method, w.path, w.contentType, w.body, nil)
			require.Contains(t, []int{200, 201}, r.Status, "%s %s: %s", w.method, w.path, r.Body)
		}
		sa := e.kube.Kubectl(t, "", "get", "deployment", "-n", ns, "ordinary", "-o", "jsonpath={.spec.template.spec.serviceAccountName}")
		require.Equal(t, "default", sa)
	})
}

// The same rules hold for objects applied through POST /clusters/{id}/apply.
func TestApplyEditorCannotBecomeAdmin(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-apply-escalate")
	e.kube.Kubectl(t, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder}\n", "apply", "-n", ns, "-f", "-")
	editor := e.user(t, "ceditor", id, "editor")
	cadmin := e.user(t, "cadmin", id, "admin")
	sysCM := uniq("kstest-apply")
	docs := []string{
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: tok\n  annotations: {kubernetes.io/service-account.name: builder}\ntype: kubernetes.io/service-account-token\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: runs-as}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: r}}\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n      serviceAccountName: builder\n      containers: [{name: c, image: busybox}]\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          serviceAccount: builder\n          containers: [{name: c, image: busybox}]\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + sysCM + ", namespace: kube-system}\n",
	}
	ordinary := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {a: b}\n"
	// Should the rules fail, do not leave the object in the shared cluster's kube-system.
	t.Cleanup(func() {
		_, _ = e.kube.TryKubectl("", "delete", "configmap", "-n", "kube-system", sysCM, "--ignore-not-found")
	})
	yaml := strings.Join(append(docs, ordinary), "---\n")
	rs := applyYAML(t, editor, id, ns, yaml, false)
	require.Equal(t, []string{"Secret/tok error", "Deployment/runs-as error", "CronJob/nightly error", "ConfigMap/" + sysCM + " error", "ConfigMap/fine created"}, actions(rs))
	for i, says := range []string{"ServiceAccount token Secret", `ServiceAccount "builder"`, `ServiceAccount "builder"`, "kube-system is a system namespace"} {
		require.Contains(t, rs[i].Error, "requires the admin role", rs[i].Error)
		require.Contains(t, rs[i].Error, says)
	}
	_, err := e.kube.TryKubectl("", "get", "secret", "-n", ns, "tok")
	require.Error(t, err, "the token Secret was not created")

	rs = applyYAML(t, cadmin, id, ns, strings.Join(docs, "---\n"), true)
	require.Equal(t, []string{"Secret/tok created", "Deployment/runs-as created", "CronJob/nightly created", "ConfigMap/" + sysCM + " created"}, actions(rs))
}

// Paths that are not canonical are refused before any decision, for everyone, as a Kubernetes
// Status with KubeSpace's cause; nothing reaches the cluster.
func TestProxyRefusesNonCanonicalPaths(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-paths")
	proxyFixtures(t, e, ns)
	padmin := e.s.User(e.admin, "padmin", "platform", 0, "admin")
	viewer := e.user(t, "cviewer", id, "viewer")
	n := "/api/v1/namespaces/" + ns
	for _, path := range []string{
		n + "/configmaps/cm/../../secrets",
		n + "/pods/p/%2e%2e/%2e%2e/secrets",
		n + "/configmaps/cm%2F..%2F..%2Fsecrets",
		n + "/configmaps/cm%2f..%2fsecrets",
		n + "/configmaps/cm%5C..%5Csecrets",
		n + "//secrets",
		n + "/./secrets",
		"//api/v1/namespaces/" + ns + "/secrets",
	} {
		for _, c := range []*apitest.Client{padmin, viewer} {
			r := e.kubeCall(t, c, id, http.MethodGet, path, "", "", nil)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s as %s: %s", path, c.Name, r.Body)
			code, msg := r.kubespaceError(t)
			require.Equal(t, "non_canonical_path", code, path)
			require.Contains(t, msg, "not canonical")
		}
	}
	// A trailing slash is canonical.
	r := e.kubeCall(t, viewer, id, http.MethodGet, n+"/configmaps/", "", "", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var l struct {
		Kind string `json:"kind"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &l))
	require.Equal(t, "ConfigMapList", l.Kind)
}
