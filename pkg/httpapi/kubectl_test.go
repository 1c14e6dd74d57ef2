package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubespace/kubespace/internal/apitest"
)

// The real kubectl, with a kubeconfig KubeSpace minted for a cluster editor, works through the
// proxy with the editor's rights — and no more.
func TestKubectlThroughKubeSpace(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	main, other := e.importCluster(t, "main"), e.importCluster(t, "other")
	ns := e.namespace(t, "ks-kubectl")
	editor := e.user(t, "ceditor", main, "editor")
	e.user(t, "ceditor-other", other, "editor") // another user's cluster: the token must not reach it
	kubeconfig, tokenID := e.mintedKubeconfig(t, editor, main)
	k := e.kubectlWith(t, kubeconfig)

	t.Run("apply, get, delete", func(t *testing.T) {
		out := k.must(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kubespace.io/testenv-node: kwok}
      containers: [{name: web, image: busybox}]
`, "apply", "-n", ns, "-f", "-")
		require.Contains(t, out, "configmap/settings created")
		require.Contains(t, out, "deployment.apps/web created")
		k.must(t, "", "rollout", "status", "-n", ns, "deployment/web", "--timeout=90s")
		pods := k.must(t, "", "get", "pods", "-n", ns, "-l", "app=web", "-o", "name")
		require.Len(t, strings.Fields(pods), 2, pods)
		require.Contains(t, k.must(t, "", "get", "configmap", "settings", "-n", ns, "-o", "jsonpath={.data.color}"), "blue")
		k.must(t, "", "scale", "-n", ns, "deployment/web", "--replicas=1")
		k.must(t, "", "delete", "-n", ns, "configmap/settings")
		_, err := e.kube.TryKubectl("", "get", "-n", ns, "configmap/settings")
		require.Error(t, err, "deleted in the cluster")
		// Reading Secrets is an editor's right.
		k.must(t, "", "get", "secrets", "-n", ns)
	})

	t.Run("logs", func(t *testing.T) {
		e.kube.RequireRealNode(t)
		e.kube.Kubectl(t, realPod("echoer", "echo hello kubectl; while true; do sleep 1; done", ""), "apply", "-n", ns, "-f", "-")
		k.must(t, "", "wait", "-n", ns, "pod/echoer", "--for=condition=Ready", "--timeout=90s")
		require.Equal(t, "hello kubectl\n", k.must(t, "", "logs", "-n", ns, "echoer"))
	})

	t.Run("refused as an editor", func(t *testing.T) {
		for _, args := range [][]string{
			{"create", "namespace", uniq("kstest")},
			{"create", "clusterrole", uniq("kstest"), "--verb=get", "--resource=pods"},
			{"create", "role", "r", "-n", ns, "--verb=get", "--resource=pods"},
			{"label", "node", "kwok-node-0", "kstest=x"},
		} {
			_, err := k.run("", args...)
			require.Error(t, err, "kubectl %v", args)
			// KubeSpace answers proxy refusals as a Kubernetes Status, so kubectl shows why.
			require.Contains(t, err.Error(), "Error from server (Forbidden)", "kubectl %v", args)
			require.Contains(t, err.Error(), "KubeSpace: ", "kubectl %v", args)
			require.Contains(t, err.Error(), "requires the admin role", "kubectl %v", args)
		}
	})

	t.Run("the token is listed as cluster-limited", func(t *testing.T) {
		var l struct {
			Items []struct {
				ID        int64 `json:"id"`
				ClusterID int64 `json:"cluster_id"`
			} `json:"items"`
		}
		editor.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil).JSON(t, &l)
		require.Len(t, l.Items, 1)
		require.Equal(t, tokenID, l.Items[0].ID)
		require.Equal(t, main, l.Items[0].ClusterID)
	})

	t.Run("the token reaches no other cluster", func(t *testing.T) {
		cfg, err := clientcmd.LoadFromFile(kubeconfig)
		require.NoError(t, err)
		var token string
		for _, u := range cfg.AuthInfos {
			token = u.Token
		}
		limited := &apitest.Client{S: e.s, Token: token, Name: "minted token"}
		r := e.kubeCall(t, limited, other, http.MethodGet, "/version", "", "", nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
		// Not even with a role there: grant the editor a role in the other cluster too.
		e.admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings",
			map[string]any{"user_id": editor.UserID, "scope": "cluster", "scope_id": other, "role": "admin"})
		r = e.kubeCall(t, limited, other, http.MethodGet, "/version", "", "", nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
		r = e.kubeCall(t, limited, main, http.MethodGet, "/version", "", "", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		// It reaches nothing else of KubeSpace: no further tokens, no users, no settings.
		for _, call := range []struct{ method, path string }{
			{http.MethodPost, "/api/v1/tokens"}, {http.MethodGet, "/api/v1/tokens"}, {http.MethodGet, "/api/v1/users"},
			{http.MethodGet, "/api/v1/users/me"}, {http.MethodGet, "/api/v1/clusters"}, {http.MethodGet, "/api/v1/secrets"},
		} {
			r := limited.For(t).Do(call.method, call.path, map[string]any{"name": "more"})
			require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", call.method, call.path, r.Body)
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		editor.For(t).Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/tokens/%d", tokenID), nil)
		_, err := k.run("", "get", "pods", "-n", ns)
		require.Error(t, err)
		require.Contains(t, err.Error(), "You must be logged in to the server")
		cfg, err := clientcmd.LoadFromFile(kubeconfig)
		require.NoError(t, err)
		for _, u := range cfg.AuthInfos {
			r := e.kubeCall(t, &apitest.Client{S: e.s, Token: u.Token}, main, http.MethodGet, "/version", "", "", nil)
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
		}
	})
}
