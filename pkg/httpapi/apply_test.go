package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/errs"
)

// applyResult is one object's outcome of an apply.
type applyResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Error     string `json:"error"`
}

func applyPath(id int64) string { return apitest.Path("/api/v1/clusters/%d/apply", id) }

// applyYAML applies as c, expecting 200, and returns the results.
func applyYAML(t testing.TB, c *apitest.Client, id int64, ns, yaml string, dryRun bool) []applyResult {
	t.Helper()
	var out struct {
		Results []applyResult `json:"results"`
	}
	c.For(t).Expect(http.StatusOK, http.MethodPost, applyPath(id),
		map[string]any{"yaml": yaml, "namespace": ns, "dry_run": dryRun}).JSON(t, &out)
	return out.Results
}

// actions returns "Kind/name action" (or "Kind/name error") of each result.
func actions(rs []applyResult) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		what := r.Action
		if r.Error != "" {
			what = "error"
		}
		out = append(out, r.Kind+"/"+r.Name+" "+what)
	}
	return out
}

func TestApply(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-apply")
	viewer := e.user(t, "cviewer", id, "viewer")
	editor := e.user(t, "ceditor", id, "editor")
	exists := func(kind, name string) bool {
		_, err := e.kube.TryKubectl("", "get", "-n", ns, kind, name)
		return err == nil
	}
	cm := func(name, color string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {color: %s}\n", name, color)
	}

	t.Run("a bad document applies nothing", func(t *testing.T) {
		for _, bad := range []string{
			"apiVersion: example.com/v1\nkind: Nope\nmetadata: {name: x}\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n",
			"kind: ConfigMap\nmetadata: {name: x}\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n",
		} {
			r := editor.For(t).Do(http.MethodPost, applyPath(id), map[string]any{"yaml": cm("before-bad", "red") + "---\n" + bad, "namespace": ns})
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			require.False(t, exists("configmap", "before-bad"), "nothing applied for %q", bad)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		rs := applyYAML(t, editor, id, ns, cm("dry", "red"), true)
		require.Equal(t, []string{"ConfigMap/dry created"}, actions(rs))
		require.Equal(t, ns, rs[0].Namespace, "the request's namespace is the default")
		require.False(t, exists("configmap", "dry"))
	})

	t.Run("created, unchanged, configured", func(t *testing.T) {
		doc := cm("settings", "blue") + "---\n" + "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
		require.Equal(t, []string{"ConfigMap/settings created", "Service/web created"}, actions(applyYAML(t, editor, id, ns, doc, false)))
		require.Equal(t, []string{"ConfigMap/settings unchanged", "Service/web unchanged"}, actions(applyYAML(t, editor, id, ns, doc, false)))
		changed := strings.Replace(doc, "blue", "green", 1)
		require.Equal(t, []string{"ConfigMap/settings configured", "Service/web unchanged"}, actions(applyYAML(t, editor, id, ns, changed, false)))
		require.Equal(t, "green", e.kube.Kubectl(t, "", "get", "-n", ns, "configmap", "settings", "-o", "jsonpath={.data.color}"))
		// A dry run of a change reports it without making it.
		require.Equal(t, []string{"ConfigMap/settings configured", "Service/web unchanged"}, actions(applyYAML(t, editor, id, ns, doc, true)))
		require.Equal(t, "green", e.kube.Kubectl(t, "", "get", "-n", ns, "configmap", "settings", "-o", "jsonpath={.data.color}"))
	})

	t.Run("a viewer applies nothing", func(t *testing.T) {
		rs := applyYAML(t, viewer, id, ns, cm("by-viewer", "red")+"---\n"+cm("by-viewer-2", "red"), false)
		require.Len(t, rs, 2)
		for _, r := range rs {
			require.Empty(t, r.Action)
			require.Contains(t, r.Error, "requires the editor role")
		}
		require.False(t, exists("configmap", "by-viewer"))
		require.False(t, exists("configmap", "by-viewer-2"))
	})

	t.Run("an editor cannot apply cluster-scoped objects", func(t *testing.T) {
		other := uniq("kstest-ns")
		t.Cleanup(func() { _, _ = e.kube.TryKubectl("", "delete", "namespace", other, "--wait=false") })
		doc := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + other + "}\n---\n" + cm("next-to-ns", "red")
		rs := applyYAML(t, editor, id, ns, doc, false)
		require.Equal(t, []string{"Namespace/" + other + " error", "ConfigMap/next-to-ns created"}, actions(rs))
		require.Contains(t, rs[0].Error, "requires the admin role")
		require.True(t, exists("configmap", "next-to-ns"))
		_, err := e.kube.TryKubectl("", "get", "namespace", other)
		require.Error(t, err, "the namespace was not created")
	})

	t.Run("the cluster's refusals are per object", func(t *testing.T) {
		doc := "apiVersion: v1\nkind: Service\nmetadata: {name: broken}\nspec: {ports: [{port: 999999}]}\n---\n" + cm("after-broken", "red")
		rs := applyYAML(t, editor, id, ns, doc, false)
		require.Equal(t, []string{"Service/broken error", "ConfigMap/after-broken created"}, actions(rs))
		require.Contains(t, rs[0].Error, "port")
	})

	t.Run("applies are audited", func(t *testing.T) {
		evs := e.clusterAudit(t, id, url.Values{"username": {"ceditor"}, "action": {"apply"}})
		require.NotEmpty(t, evs)
		require.Equal(t, "kubernetes", evs[0].ResourceType)
	})
}

// Custom resources: a CRD applied through KubeSpace, then objects of it, are browsable.
func TestCustomResources(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-crd")
	editor := e.user(t, "ceditor", id, "editor")
	group := uniq("t") + ".kubespace.test"
	crdName := "widgets." + group
	t.Cleanup(func() { _, _ = e.kube.TryKubectl("", "delete", "crd", crdName, "--wait=false") })
	kinds := func(t *testing.T) []string {
		var l struct {
			Items []struct {
				Group    string `json:"group"`
				Resource string `json:"resource"`
				Kind     string `json:"kind"`
			} `json:"items"`
		}
		editor.For(t).Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/clusters/%d/kinds", id), nil).JSON(t, &l)
		var out []string
		for _, k := range l.Items {
			out = append(out, k.Resource+"."+k.Group+" "+k.Kind)
		}
		return out
	}
	require.Contains(t, kinds(t), "deployments.apps Deployment")
	require.NotContains(t, kinds(t), crdName+" Widget")

	crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %s}
spec:
  group: %s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, crdName, group)
	rs := applyYAML(t, editor, id, "", crd, false)
	require.Contains(t, rs[0].Error, "requires the admin role", "CRDs are cluster-scoped")
	require.Equal(t, []string{"CustomResourceDefinition/" + crdName + " created"}, actions(applyYAML(t, e.admin, id, "", crd, false)))
	e.kube.Kubectl(t, "", "wait", "--for=condition=Established", "crd/"+crdName, "--timeout=60s")

	widget := fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata: {name: gizmo}\nsize: 3\n", group)
	eventually(t, "the new kind can be applied", func() bool {
		r := editor.For(t).Do(http.MethodPost, applyPath(id), map[string]any{"yaml": widget, "namespace": ns})
		return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"action":"created"`)
	})
	require.Equal(t, []string{ns + "/gizmo"}, list(t, editor, id, "widgets."+group, url.Values{"namespace": {ns}}).names())
	require.Contains(t, kinds(t), crdName+" Widget")
	// Objects made outside KubeSpace show up too.
	e.kube.Kubectl(t, fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata: {name: outside}\n", group), "apply", "-n", ns, "-f", "-")
	eventually(t, "the informer sees the outside object", func() bool {
		return len(list(t, editor, id, "widgets."+group, url.Values{"namespace": {ns}}).Items) == 2
	})
}

// A CRD created outside KubeSpace appears among the kinds without anyone listing it first.
func TestKindsFollowNewCRDs(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	group := uniq("t") + ".kubespace.test"
	crdName := "gadgets." + group
	t.Cleanup(func() { _, _ = e.kube.TryKubectl("", "delete", "crd", crdName, "--wait=false") })
	has := func() bool {
		r := e.admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/clusters/%d/kinds", id), nil)
		return strings.Contains(string(r.Body), `"group":"`+group+`"`)
	}
	require.False(t, has(), "discovery is cached now")
	e.kube.Kubectl(t, fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %s}
spec:
  group: %s
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`, crdName, group), "apply", "-f", "-")
	e.kube.Kubectl(t, "", "wait", "--for=condition=Established", "crd/"+crdName, "--timeout=60s")
	eventually(t, "the kinds list shows the new CRD", has)
}

// A Secret applied with its kind escaped or written in flow style is still a Secret to the audit
// log: manifests are redacted per parsed object, as apply parses them, never by searching text.
func TestApplyKeepsSecretsOutOfTheAudit(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-apply-audit")
	editor := e.user(t, "ceditor", id, "editor")
	cases := []struct{ name, doc, value string }{
		{"yaml-x-escape", "apiVersion: v1\nkind: \"Secr\\x65t\"\nmetadata: {name: yaml-x-escape}\nstringData: {pw: kstest-val-x65}\n", "kstest-val-x65"},
		{"yaml-u-escape", "apiVersion: v1\nkind: \"Secr\\u0065t\"\nmetadata: {name: yaml-u-escape}\nstringData:\n  pw: kstest-val-u0065\n", "kstest-val-u0065"},
		{"json-escape", `{"apiVersion":"v1","kind":"Secr\u0065t","metadata":{"name":"json-escape"},"stringData":{"pw":"kstest-val-json"}}`, "kstest-val-json"},
		{"flow-style", "{apiVersion: v1, kind: Secret, metadata: {name: flow-style}, stringData: {pw: kstest-val-flow}}", "kstest-val-flow"},
		{"after-a-configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: before}\ndata: {color: kstest-visible}\n---\napiVersion: v1\nkind: \"Se\\x63ret\"\nmetadata: {name: after-a-configmap}\ndata: {pw: a3N0ZXN0LXZhbC1kYXRh}\n", "a3N0ZXN0LXZhbC1kYXRh"},
	}
	for _, tc := range cases {
		rs := applyYAML(t, editor, id, ns, tc.doc, false)
		require.Contains(t, actions(rs), "Secret/"+tc.name+" created", "%s: %v", tc.name, rs)
		e.kube.Kubectl(t, "", "get", "secret", "-n", ns, tc.name)
	}
	evs := e.clusterAudit(t, id, url.Values{"username": {"ceditor"}, "action": {"apply"}})
	require.Len(t, evs, len(cases), "every apply is audited")
	all := e.admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?limit=1000", nil)
	require.Contains(t, string(all.Body), "kstest-visible", "ConfigMaps are kept in the summary")
	rows := rawRows(t, rawDatabase(t, e.s))
	for _, tc := range cases {
		require.NotContains(t, string(all.Body), tc.value, tc.name)
		for _, col := range rows["audit_events"] {
			for _, enc := range encodings(tc.value) {
				require.NotContains(t, string(col), enc, "%s: the audit row holds the secret", tc.name)
			}
		}
	}
}

// A 422 of the API server stays a 422 in KubeSpace's vocabulary, with its field causes; apply
// reports the API server's message per object.
func TestKubernetesInvalidIsUnprocessable(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	ns := e.namespace(t, "ks-invalid")
	rc, err := clientcmd.BuildConfigFromFlags("", e.kube.Kubeconfig)
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 999999}}}}
	_, kerr := cs.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.Error(t, kerr)
	e2, ok := errs.As(cluster.KubeError(kerr))
	require.True(t, ok)
	require.Equal(t, errs.Unprocessable, e2.Kind)
	require.Equal(t, "kubernetes_invalid", e2.StableCode())
	require.Contains(t, e2.Message, `Service "broken" is invalid`)
	require.Contains(t, e2.Fields["spec.ports[0].port"], "must be between 1 and 65535")
}
