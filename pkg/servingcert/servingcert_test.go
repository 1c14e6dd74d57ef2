package servingcert

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGeneratedCertificateIsTrustedThroughItsCA(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadOrGenerate(dir, []string{"kubespace.example.com"})
	require.NoError(t, err)
	again, err := LoadOrGenerate(dir, []string{"kubespace.example.com"})
	require.NoError(t, err)
	require.Equal(t, c.TLS.Certificate[0], again.TLS.Certificate[0], "reused while it covers the hosts")
	other, err := LoadOrGenerate(dir, []string{"new.example.com"})
	require.NoError(t, err)
	require.NotEqual(t, c.TLS.Certificate[0], other.TLS.Certificate[0], "reissued for a new host")
	require.Equal(t, c.CAPEM, other.CAPEM, "by the same CA")

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{other.TLS}}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(other.CAPEM))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err, "a client trusting only the CA verifies the server")
	resp.Body.Close()
	_, err = http.Get(srv.URL)
	require.Error(t, err, "an ordinary client does not trust it")
}
