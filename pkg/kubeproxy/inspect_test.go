package kubeproxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/kubeproxy"
)

// decideBody decides a write with a body of the given content type.
func decideBody(t *testing.T, method, path, contentType, body string, header ...string) kubeproxy.Decision {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	d, err := kubeproxy.Decide(req, []byte(body))
	require.NoError(t, err)
	return d
}

// Workloads that would run as a ServiceAccount other than the namespace's default need admin,
// whichever way the body says so; Secrets that ask the cluster for a token too. The table is
// written from the rules in Decide's doc comment.
func TestDecideReadsBodies(t *testing.T) {
	t.Parallel()
	const (
		ns    = "/api/v1/namespaces/team"
		apps  = "/apis/apps/v1/namespaces/team"
		batch = "/apis/batch/v1/namespaces/team"
		json  = "application/json"
		yaml  = "application/yaml"
		merge = "application/merge-patch+json"
		smp   = "application/strategic-merge-patch+json"
		jp    = "application/json-patch+json"
		apply = "application/apply-patch+yaml"
	)
	pod := func(spec string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{` + spec + `"containers":[{"name":"c","image":"busybox"}]}}`
	}
	deploy := func(spec string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},` +
			`"template":{"metadata":{"labels":{"a":"b"}},"spec":{` + spec + `"containers":[{"name":"c","image":"busybox"}]}}}}`
	}
	cases := []struct {
		name, method, path, contentType, body string
		role                                  access.Role
		reason                                string // a part of the reason (admin only)
	}{
		// Ordinary workloads stay with editors.
		{"pod, default SA", "POST", ns + "/pods", json, pod(""), access.Editor, ""},
		{"pod, explicit default", "POST", ns + "/pods", json, pod(`"serviceAccountName":"default",`), access.Editor, ""},
		{"pod, empty SA", "POST", ns + "/pods", json, pod(`"serviceAccountName":"","serviceAccount":"",`), access.Editor, ""},
		{"deployment, default SA", "POST", apps + "/deployments", json, deploy(`"serviceAccountName":"default",`), access.Editor, ""},
		{"deployment as YAML", "POST", apps + "/deployments", yaml, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: []}}}\n", access.Editor, ""},
		{"scale patch", "PATCH", apps + "/deployments/d", merge, `{"spec":{"replicas":3}}`, access.Editor, ""},
		{"restart patch", "PATCH", apps + "/deployments/d", smp, `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"now"}}}}}`, access.Editor, ""},
		{"json patch of the image", "PATCH", apps + "/deployments/d", jp, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"busybox:2"}]`, access.Editor, ""},
		{"json patch back to default", "PATCH", apps + "/deployments/d", jp, `[{"op":"replace","path":"/spec/template/spec/serviceAccountName","value":"default"},{"op":"remove","path":"/spec/template/spec/serviceAccount"}]`, access.Editor, ""},
		{"merge patch removing the SA", "PATCH", apps + "/deployments/d", merge, `{"spec":{"template":{"spec":{"serviceAccountName":null}}}}`, access.Editor, ""},
		{"empty body", "POST", ns + "/pods", json, "", access.Editor, ""},
		{"protobuf scale", "PUT", apps + "/deployments/d/scale", "application/vnd.kubernetes.protobuf", "k8s\x00binary", access.Editor, ""},
		{"last-applied annotation names an SA in a string", "PATCH", apps + "/deployments/d", smp,
			`{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"spec\":{\"serviceAccountName\":\"x\"}}"}}}`, access.Editor, ""},
		// Another ServiceAccount, however it is said.
		{"pod", "POST", ns + "/pods", json, pod(`"serviceAccountName":"builder",`), access.Admin, `ServiceAccount "builder"`},
		{"pod, deprecated field", "POST", ns + "/pods", json, pod(`"serviceAccount":"builder",`), access.Admin, `"builder"`},
		{"pod, escaped key", "POST", ns + "/pods", json, pod(`"serviceAccount\u004eame":"builder",`), access.Admin, `"builder"`},
		{"pod, other case", "POST", ns + "/pods", json, pod(`"ServiceAccountName":"builder",`), access.Admin, `"builder"`},
		{"pod, non-string", "POST", ns + "/pods", json, pod(`"serviceAccountName":{"name":"builder"},`), access.Admin, "builder"},
		{"pod update", "PUT", ns + "/pods/p", json, pod(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		{"ephemeral containers", "PATCH", ns + "/pods/p/ephemeralcontainers", smp, `{"spec":{"serviceAccountName":"builder"}}`, access.Admin, "builder"},
		{"pod as YAML", "POST", ns + "/pods", yaml, "kind: Pod\nspec:\n  serviceAccountName: builder\n", access.Admin, "builder"},
		{"pod as flow YAML", "POST", ns + "/pods", yaml, "{kind: Pod, spec: {serviceAccountName: \"b\\x75ilder\"}}", access.Admin, "builder"},
		{"deployment", "POST", apps + "/deployments", json, deploy(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		{"statefulset", "POST", "/apis/apps/v1/namespaces/team/statefulsets", json, deploy(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		{"daemonset", "PUT", "/apis/apps/v1/namespaces/team/daemonsets/d", json, deploy(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		{"replicaset", "POST", "/apis/apps/v1/namespaces/team/replicasets", json, deploy(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		{"old extensions deployment", "POST", "/apis/extensions/v1beta1/namespaces/team/deployments", json, deploy(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		{"job", "POST", batch + "/jobs", json, `{"spec":{"template":{"spec":{"serviceAccountName":"builder"}}}}`, access.Admin, "builder"},
		{"cronjob", "POST", batch + "/cronjobs", json, `{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"serviceAccountName":"builder"}}}}}}`, access.Admin, "builder"},
		{"replication controller", "POST", ns + "/replicationcontrollers", json, `{"spec":{"template":{"spec":{"serviceAccountName":"builder"}}}}`, access.Admin, "builder"},
		{"pod template", "POST", ns + "/podtemplates", json, `{"template":{"spec":{"serviceAccountName":"builder"}}}`, access.Admin, "builder"},
		{"merge patch", "PATCH", apps + "/deployments/d", merge, `{"spec":{"template":{"spec":{"serviceAccountName":"builder"}}}}`, access.Admin, "builder"},
		{"strategic merge patch", "PATCH", apps + "/deployments/d", smp, `{"spec":{"template":{"spec":{"serviceAccount":"builder"}}}}`, access.Admin, "builder"},
		{"apply patch", "PATCH", apps + "/deployments/d?fieldManager=kubectl", apply, "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      serviceAccountName: builder\n", access.Admin, "builder"},
		{"json patch path", "PATCH", apps + "/deployments/d", jp, `[{"op":"add","path":"/spec/template/spec/serviceAccountName","value":"builder"}]`, access.Admin, "builder"},
		{"json patch value", "PATCH", apps + "/deployments/d", jp, `[{"op":"replace","path":"/spec/template/spec","value":{"serviceAccountName":"builder","containers":[]}}]`, access.Admin, "builder"},
		{"json patch copy", "PATCH", apps + "/deployments/d", jp, `[{"op":"copy","from":"/metadata/name","path":"/spec/template/spec/serviceAccountName"}]`, access.Admin, "copy"},
		{"json patch move", "PATCH", apps + "/deployments/d", jp, `[{"op":"move","from":"/metadata/labels/sa","path":"/spec/template/spec/serviceAccount"}]`, access.Admin, "move"},
		{"no content type is JSON", "POST", ns + "/pods", "", pod(`"serviceAccountName":"builder",`), access.Admin, "builder"},
		// Bodies to workloads that cannot be read are refused for non-admins.
		{"protobuf pod", "POST", ns + "/pods", "application/vnd.kubernetes.protobuf", "k8s\x00\x0a\x02v1", access.Admin, "application/vnd.kubernetes.protobuf"},
		{"cbor pod", "POST", ns + "/pods", "application/cbor", "\xd9\xd9\xf7\xa0", access.Admin, "application/cbor"},
		{"cbor apply", "PATCH", apps + "/deployments/d", "application/apply-patch+cbor", "\xd9\xd9\xf7\xa0", access.Admin, "cbor"},
		{"invalid JSON", "POST", ns + "/pods", json, `{"spec":`, access.Admin, "not valid JSON"},
		{"trailing data", "POST", ns + "/pods", json, pod("") + ` {"spec":{"serviceAccountName":"builder"}}`, access.Admin, "after the JSON value"},
		{"duplicate key", "POST", ns + "/pods", json, `{"spec":{"serviceAccountName":"builder","serviceAccountName":"default"}}`, access.Admin, "twice"},
		{"duplicate YAML key", "POST", ns + "/pods", yaml, "spec:\n  serviceAccountName: builder\n  serviceAccountName: default\n", access.Admin, "YAML"},
		{"invalid YAML", "PATCH", apps + "/deployments/d", apply, "spec: [", access.Admin, "YAML"},
		{"unknown type", "POST", ns + "/pods", "text/plain", "spec: {}", access.Admin, "text/plain"},
		{"too deep", "POST", ns + "/pods", json, strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200), access.Admin, "levels"},
		// Secrets that the token controller would fill.
		{"opaque secret", "POST", ns + "/secrets", json, `{"kind":"Secret","metadata":{"name":"s"},"stringData":{"pw":"x"}}`, access.Editor, ""},
		{"tls secret", "POST", ns + "/secrets", json, `{"kind":"Secret","type":"kubernetes.io/tls","data":{}}`, access.Editor, ""},
		{"token secret", "POST", ns + "/secrets", json, `{"kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"t","annotations":{"kubernetes.io/service-account.name":"builder"}}}`, access.Admin, "token"},
		{"token secret, escaped", "POST", ns + "/secrets", json, `{"type":"kubernetes.io/service-account-t\u006fken"}`, access.Admin, "token"},
		{"token secret, other case", "POST", ns + "/secrets", json, `{"type":"Kubernetes.io/Service-Account-Token"}`, access.Admin, "token"},
		{"token secret as YAML", "POST", ns + "/secrets", yaml, "type: kubernetes.io/service-account-token\n", access.Admin, "token"},
		{"token secret update", "PUT", ns + "/secrets/t", json, `{"type":"kubernetes.io/service-account-token"}`, access.Admin, "token"},
		{"token secret apply", "PATCH", ns + "/secrets/t", apply, "type: kubernetes.io/service-account-token\n", access.Admin, "token"},
		{"annotation patch", "PATCH", ns + "/secrets/t", merge, `{"metadata":{"annotations":{"kubernetes.io/service-account.name":"admin"}}}`, access.Admin, "token"},
		{"annotation json patch", "PATCH", ns + "/secrets/t", jp, `[{"op":"add","path":"/metadata/annotations/kubernetes.io~1service-account.uid","value":"1"}]`, access.Admin, "token"},
		{"protobuf secret", "POST", ns + "/secrets", "application/vnd.kubernetes.protobuf", "k8s\x00", access.Admin, "protobuf"},
		{"gzip secret", "POST", ns + "/secrets", json, `{"type":"Opaque"}`, access.Admin, "gzip"},
		// Custom resources whose controllers run pods as a named ServiceAccount.
		{"argo workflow", "POST", "/apis/argoproj.io/v1alpha1/namespaces/team/workflows", json, `{"spec":{"serviceAccountName":"argo-admin"}}`, access.Admin, "argo-admin"},
		{"tekton run as YAML", "POST", "/apis/tekton.dev/v1/namespaces/team/pipelineruns", yaml, "spec:\n  taskRunTemplate:\n    serviceAccountName: deployer\n", access.Admin, "deployer"},
		{"custom resource, default SA", "POST", "/apis/argoproj.io/v1alpha1/namespaces/team/workflows", json, `{"spec":{"serviceAccountName":"default"}}`, access.Editor, ""},
		{"custom resource, helm-style values", "POST", "/apis/helm.toolkit.fluxcd.io/v2/namespaces/team/helmreleases", json, `{"spec":{"values":{"serviceAccount":{"create":true}}}}`, access.Editor, ""},
		{"custom resource as cbor", "POST", "/apis/argoproj.io/v1alpha1/namespaces/team/workflows", "application/cbor", "\xa0", access.Admin, "cbor"},
		{"protobuf service", "POST", ns + "/services", "application/vnd.kubernetes.protobuf", "k8s\x00", access.Editor, ""},
		{"configmap data is free-form", "POST", ns + "/configmaps", json, `{"data":{"serviceAccountName":"builder"}}`, access.Editor, ""},
		// Admin writes are not read for rules (they may do all of this).
		{"rbac write", "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles", "application/cbor", "\xa0", access.Admin, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if strings.HasPrefix(tc.name, "gzip") {
				header = []string{"Content-Encoding", "gzip"}
			}
			d := decideBody(t, tc.method, tc.path, tc.contentType, tc.body, header...)
			require.Equal(t, tc.role.String(), d.Role.String(), "role (reason %q)", d.Reason)
			require.True(t, d.Write)
			if tc.reason != "" {
				require.Contains(t, d.Reason, tc.reason)
			}
			if tc.role < access.Admin {
				require.Empty(t, d.Reason)
			}
		})
	}
}

// Creates are audited with the name of the object created, read from the body.
func TestDecideNamesCreatedObjects(t *testing.T) {
	t.Parallel()
	const cms = "/api/v1/namespaces/team/configmaps"
	for _, tc := range []struct{ contentType, body, want string }{
		{"application/json", `{"metadata":{"name":"settings"}}`, "settings"},
		{"application/json", `{"metadata":{"generateName":"run-"}}`, "run-*"},
		{"application/yaml", "metadata:\n  name: from-yaml\n", "from-yaml"},
		{"", `{"metadata":{"name":"no-type"}}`, "no-type"},
		{"application/json", `{"metadata":{}}`, ""},
		{"application/json", `not json`, ""},
		{"application/vnd.kubernetes.protobuf", "k8s\x00", ""},
	} {
		d := decideBody(t, http.MethodPost, cms, tc.contentType, tc.body)
		require.Equal(t, tc.want, d.Name, "%s %q", tc.contentType, tc.body)
	}
	// The path names the object of every other write.
	d := decideBody(t, http.MethodPatch, cms+"/settings", "application/merge-patch+json", `{"metadata":{"name":"other"}}`)
	require.Equal(t, "settings", d.Name)
	d = decideBody(t, http.MethodPost, "/api/v1/namespaces/team/pods/web-0/eviction", "application/json", `{"metadata":{"name":"other"}}`)
	require.Equal(t, "web-0", d.Name)
}

// Decide never panics on any body or content type, and a body only ever raises the role the
// request line alone needs.
func FuzzDecideBody(f *testing.F) {
	for _, seed := range []struct{ path, ct, body string }{
		{"/api/v1/namespaces/team/pods", "application/json", `{"spec":{"serviceAccountName":"x"}}`},
		{"/apis/apps/v1/namespaces/team/deployments/d", "application/json-patch+json", `[{"op":"add","path":"/spec/template/spec/serviceAccountName","value":"x"}]`},
		{"/api/v1/namespaces/team/secrets", "application/yaml", "type: kubernetes.io/service-account-token\n"},
		{"/apis/x.io/v1/namespaces/team/things", "application/apply-patch+yaml", "a: &a [*a]"},
	} {
		f.Add(seed.path, seed.ct, seed.body)
	}
	f.Fuzz(func(t *testing.T, path, contentType, body string) {
		u, err := url.Parse("http://cluster" + path)
		if err != nil {
			return
		}
		for _, method := range []string{http.MethodPost, http.MethodPatch} {
			req := httptest.NewRequest(method, "/", nil)
			req.URL = u
			req.Header.Set("Content-Type", contentType)
			bare, err := kubeproxy.Decide(req, nil)
			if err != nil {
				continue
			}
			d, err := kubeproxy.Decide(req, []byte(body))
			require.NoError(t, err)
			require.GreaterOrEqual(t, int(d.Role), int(bare.Role))
		}
	})
}
