package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubespace/kubespace/internal/apitest"
)

// clusterView is the part of a cluster the tests look at.
type clusterView struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Mode         string `json:"mode"`
	Context      string `json:"context"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	Version      string `json:"version"`
	NodeCount    int    `json:"node_count"`
	LastSeenAt   string `json:"last_seen_at"`
}

// errorBody is KubeSpace's error body with field details.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details struct {
		Fields map[string]string `json:"fields"`
	} `json:"details"`
}

// variant rewrites the testenv kubeconfig.
func variant(t *testing.T, kubeconfig string, edit func(c *clientcmdapi.Config)) string {
	t.Helper()
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	require.NoError(t, err)
	edit(cfg)
	out, err := clientcmd.Write(*cfg)
	require.NoError(t, err)
	return string(out)
}

// only returns the single cluster and user of a one-context kubeconfig.
func only(c *clientcmdapi.Config) (*clientcmdapi.Cluster, *clientcmdapi.AuthInfo) {
	ctx := c.Contexts[c.CurrentContext]
	return c.Clusters[ctx.Cluster], c.AuthInfos[ctx.AuthInfo]
}

// otherCA returns a freshly generated CA certificate (PEM) that signed nothing the cluster uses.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "not-the-cluster-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestClusterImport(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	// A platform admin (not a super admin) imports clusters.
	padmin := e.s.User(e.admin, "padmin", "platform", 0, "admin")
	post := func(t *testing.T, c *apitest.Client, body map[string]any) *apitest.Response {
		return c.For(t).Do(http.MethodPost, "/api/v1/clusters", body)
	}
	var first clusterView

	t.Run("import", func(t *testing.T) {
		r := post(t, padmin, map[string]any{"name": "prod", "description": "the testenv", "kubeconfig": e.kubeconfig})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		r.JSON(t, &first)
		require.Equal(t, "connected", first.Status, first.StatusReason)
		require.Equal(t, "direct", first.Mode)
		require.Equal(t, "v1.37.2", first.Version)
		require.GreaterOrEqual(t, first.NodeCount, 2)
		require.NotEmpty(t, first.LastSeenAt)
		require.NotContains(t, string(r.Body), "client-key-data", "credentials are never returned")
	})

	t.Run("several contexts", func(t *testing.T) {
		multi := variant(t, e.kubeconfig, func(c *clientcmdapi.Config) {
			ctx := c.Contexts[c.CurrentContext]
			c.Contexts = map[string]*clientcmdapi.Context{"blue": ctx.DeepCopy(), "green": ctx.DeepCopy()}
			c.CurrentContext = ""
		})
		r := post(t, padmin, map[string]any{"name": "multi", "kubeconfig": multi})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		var b errorBody
		r.JSON(t, &b)
		require.Contains(t, b.Details.Fields["context"], `"blue"`)
		require.Contains(t, b.Details.Fields["context"], `"green"`)

		r = post(t, padmin, map[string]any{"name": "multi", "kubeconfig": multi, "context": "nope"})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		r.JSON(t, &b)
		require.Contains(t, b.Details.Fields["context"], `"nope"`)

		r = post(t, padmin, map[string]any{"name": "multi", "kubeconfig": multi, "context": "green"})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var c clusterView
		r.JSON(t, &c)
		require.Equal(t, "green", c.Context)
		require.Equal(t, "connected", c.Status)
	})

	t.Run("refused kubeconfigs", func(t *testing.T) {
		cases := []struct {
			name, want string
			edit       func(c *clientcmdapi.Config)
		}{
			{"exec plugin", "exec", func(c *clientcmdapi.Config) {
				_, u := only(c)
				u.ClientCertificateData, u.ClientKeyData = nil, nil
				u.Exec = &clientcmdapi.ExecConfig{Command: "/bin/sh", Args: []string{"-c", "touch /tmp/pwned"}, APIVersion: "client.authentication.k8s.io/v1"}
			}},
			{"auth provider", "auth-provider", func(c *clientcmdapi.Config) {
				_, u := only(c)
				u.ClientCertificateData, u.ClientKeyData = nil, nil
				u.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: "oidc", Config: map[string]string{"idp-issuer-url": "https://example.com"}}
			}},
			{"client certificate file", "client-certificate", func(c *clientcmdapi.Config) {
				_, u := only(c)
				u.ClientCertificateData, u.ClientKeyData = nil, nil
				u.ClientCertificate, u.ClientKey = "/etc/kubernetes/pki/admin.crt", "/etc/kubernetes/pki/admin.key"
			}},
			{"token file", "tokenFile", func(c *clientcmdapi.Config) {
				_, u := only(c)
				u.ClientCertificateData, u.ClientKeyData = nil, nil
				u.TokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
			}},
			{"certificate authority file", "certificate-authority", func(c *clientcmdapi.Config) {
				cl, _ := only(c)
				cl.CertificateAuthorityData = nil
				cl.CertificateAuthority = "/etc/kubernetes/pki/ca.crt"
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := post(t, padmin, map[string]any{"name": "refused", "kubeconfig": variant(t, e.kubeconfig, tc.edit)})
				require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
				var b errorBody
				r.JSON(t, &b)
				require.Contains(t, b.Details.Fields["kubeconfig"], tc.want, "%s", r.Body)
			})
		}
		r := post(t, padmin, map[string]any{"name": "refused", "kubeconfig": "not: [a kubeconfig"})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	})

	t.Run("unreachable server", func(t *testing.T) {
		kc := variant(t, e.kubeconfig, func(c *clientcmdapi.Config) { cl, _ := only(c); cl.Server = "https://127.0.0.1:1" })
		r := post(t, padmin, map[string]any{"name": "gone", "kubeconfig": kc})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		var b errorBody
		r.JSON(t, &b)
		require.Equal(t, "cluster_unreachable", b.Code)
	})

	t.Run("wrong CA", func(t *testing.T) {
		kc := variant(t, e.kubeconfig, func(c *clientcmdapi.Config) { cl, _ := only(c); cl.CertificateAuthorityData = otherCA(t) })
		r := post(t, padmin, map[string]any{"name": "mitm", "kubeconfig": kc})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		var b errorBody
		r.JSON(t, &b)
		require.Equal(t, "cluster_unreachable", b.Code)
		require.Contains(t, b.Message, "TLS verification failed")
	})

	t.Run("non-admins cannot import", func(t *testing.T) {
		peditor := e.s.For(t).User(e.admin.For(t), "peditor", "platform", 0, "editor")
		cadmin := e.user(t, "cadmin-import", first.ID, "admin")
		for _, c := range []*apitest.Client{peditor, cadmin} {
			r := post(t, c, map[string]any{"name": "sneaky", "kubeconfig": e.kubeconfig})
			require.Equal(t, http.StatusForbidden, r.Status, "%s as %s", r.Body, c.Name)
		}
		r := post(t, e.s.Anonymous(), map[string]any{"name": "sneaky", "kubeconfig": e.kubeconfig})
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	})

	t.Run("duplicate name", func(t *testing.T) {
		r := post(t, padmin, map[string]any{"name": "prod", "kubeconfig": e.kubeconfig})
		require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	})

	t.Run("replace credentials", func(t *testing.T) {
		path := apitest.Path("/api/v1/clusters/%d", first.ID)
		bad := variant(t, e.kubeconfig, func(c *clientcmdapi.Config) { cl, _ := only(c); cl.Server = "https://127.0.0.1:1" })
		r := padmin.For(t).Do(http.MethodPut, path, map[string]any{"kubeconfig": bad})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		// The failed replacement changed nothing: the cluster still answers through the proxy.
		e.kubeJSON(t, padmin, first.ID, http.MethodGet, "/version", nil, http.StatusOK)

		r = padmin.For(t).Do(http.MethodPut, path, map[string]any{"kubeconfig": e.kubeconfig, "description": "replaced"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var c clusterView
		r.JSON(t, &c)
		require.Equal(t, "connected", c.Status)
		require.Equal(t, "v1.37.2", c.Version)
		e.kubeJSON(t, padmin, first.ID, http.MethodGet, "/version", nil, http.StatusOK)

		cviewer := e.user(t, "cviewer-import", first.ID, "viewer")
		r = cviewer.For(t).Do(http.MethodPut, path, map[string]any{"kubeconfig": e.kubeconfig})
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
	})

	t.Run("list shows status", func(t *testing.T) {
		var l struct {
			Items []clusterView `json:"items"`
			Total int           `json:"total"`
		}
		padmin.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/clusters?sort=name", nil).JSON(t, &l)
		require.Len(t, l.Items, 2)
		require.Equal(t, []string{"multi", "prod"}, []string{l.Items[0].Name, l.Items[1].Name})
		for _, c := range l.Items {
			require.Equal(t, "connected", c.Status)
			require.Equal(t, "v1.37.2", c.Version)
		}
		// A cluster viewer sees only its cluster.
		cviewer := e.s.For(t).Login("cviewer-import", apitest.Password)
		cviewer.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/clusters", nil).JSON(t, &l)
		require.Len(t, l.Items, 1)
		require.Equal(t, first.ID, l.Items[0].ID)
	})

	t.Run("delete", func(t *testing.T) {
		path := apitest.Path("/api/v1/clusters/%d", first.ID)
		cviewer := e.s.For(t).Login("cviewer-import", apitest.Password)
		require.Equal(t, http.StatusForbidden, cviewer.For(t).Do(http.MethodDelete, path, nil).Status)
		var kc struct {
			Kubeconfig string `json:"kubeconfig"`
		}
		cviewer.For(t).Expect(http.StatusCreated, http.MethodPost, path+"/kubeconfig", map[string]any{}).JSON(t, &kc)
		minted := &apitest.Client{S: e.s.For(t), Token: kubeconfigToken(t, kc.Kubeconfig)}
		require.Equal(t, http.StatusOK, e.kubeCall(t, minted, first.ID, http.MethodGet, "/version", "", "", nil).Status)
		padmin.For(t).Expect(http.StatusNoContent, http.MethodDelete, path, nil)
		// The tokens minted for its kubeconfigs went with it.
		require.Equal(t, http.StatusUnauthorized, e.kubeCall(t, minted, first.ID, http.MethodGet, "/version", "", "", nil).Status)
		padmin.For(t).Expect(http.StatusNotFound, http.MethodGet, path, nil)
		// Its role bindings went with it: a cluster imported later (which may reuse the id)
		// grants the former viewer nothing.
		bs, err := e.s.App.Store.RoleBindings.ListByUser(context.Background(), cviewer.UserID)
		require.NoError(t, err)
		require.Empty(t, bs)
		again := e.importCluster(t, "prod-again")
		require.Equal(t, http.StatusForbidden, cviewer.For(t).Do(http.MethodGet, apitest.Path("/api/v1/clusters/%d", again), nil).Status)
		require.Equal(t, http.StatusForbidden, e.kubeCall(t, cviewer, again, http.MethodGet, "/version", "", "", nil).Status)
	})
}

// kubeconfigToken returns the bearer token of a kubeconfig's current user.
func kubeconfigToken(t testing.TB, text string) string {
	t.Helper()
	cfg, err := clientcmd.Load([]byte(text))
	require.NoError(t, err)
	return cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Token
}
