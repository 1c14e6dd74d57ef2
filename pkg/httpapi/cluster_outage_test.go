package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/internal/faultproxy"
)

// TestClusterOutageAnswers: when a cluster's API server goes away the API answers 502/503 saying
// what to do — never the transport's error text (addresses, dial errors), which goes to the log —
// and works again once the cluster is back.
func TestClusterOutageAnswers(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	var link *faultproxy.Proxy
	kc := variant(t, e.kubeconfig, func(c *clientcmdapi.Config) {
		cl, _ := only(c)
		u, err := url.Parse(cl.Server)
		require.NoError(t, err)
		link = faultproxy.Start(t, u.Host) // the API server's certificate names 127.0.0.1, any port
		u.Host = link.Addr()
		cl.Server = u.String()
	})
	id := e.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/clusters",
		map[string]any{"name": "flaky", "kubeconfig": kc}).ID(t)
	t.Cleanup(func() { e.s.App.Resources.Forget(id) })
	e.kubeJSON(t, e.admin, id, http.MethodGet, "/version", nil, http.StatusOK)

	link.Down()
	r := e.kubeCall(t, e.admin, id, http.MethodGet, "/version", "", "", nil)
	require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
	requireNoTransportText(t, string(r.Body))
	ov := e.admin.For(t).Do(http.MethodGet, apitest.Path("/api/v1/clusters/%d/kinds", id), nil)
	require.Equal(t, http.StatusServiceUnavailable, ov.Status, "%s", ov.Body)
	require.NotEmpty(t, ov.Header.Get("Retry-After"))
	requireNoTransportText(t, string(ov.Body))

	link.Up()
	eventually(t, "the cluster answers again", func() bool {
		return e.kubeCall(t, e.admin, id, http.MethodGet, "/version", "", "", nil).Status == http.StatusOK
	})
}

func requireNoTransportText(t *testing.T, body string) {
	t.Helper()
	for _, s := range []string{"dial tcp", "connection refused", "127.0.0.1", "EOF", "reset by peer"} {
		require.NotContains(t, body, s)
	}
	require.True(t, strings.Contains(body, "check") || strings.Contains(body, "administrator"), "the answer says what to do: %s", body)
}
