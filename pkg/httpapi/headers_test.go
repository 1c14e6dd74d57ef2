package httpapi_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

// The Origin check compares the scheme too: a page served over plain HTTP (which anybody on the
// path can inject script into) is not the HTTPS console, and vice versa.
func TestOriginSchemeMatters(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	host := strings.TrimPrefix(s.URL, "http://")
	body := map[string]any{"name": "origin"}
	r := send(t, s, http.MethodPost, "/api/v1/tokens", body, withCookie(admin.Token), withHeader("Origin", "https://"+host))
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
	require.Equal(t, "csrf_refused", errorOf(t, r).Code)
	r = send(t, s, http.MethodPost, "/api/v1/tokens", body, withCookie(admin.Token), withHeader("Origin", "http://"+host))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	// X-Forwarded-Proto is believed only from a trusted proxy.
	r = send(t, s, http.MethodPost, "/api/v1/tokens", body, withCookie(admin.Token), withHeader("Origin", "https://"+host),
		withHeader("X-Forwarded-Proto", "https"))
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)

	behind := apitest.Start(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	badmin := behind.Admin()
	bhost := strings.TrimPrefix(behind.URL, "http://")
	r = send(t, behind, http.MethodPost, "/api/v1/tokens", body, withCookie(badmin.Token), withHeader("Origin", "https://"+bhost),
		withHeader("X-Forwarded-Proto", "https"))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = send(t, behind, http.MethodPost, "/api/v1/tokens", body, withCookie(badmin.Token), withHeader("Origin", "http://"+bhost),
		withHeader("X-Forwarded-Proto", "https"))
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
}

// HSTS is sent on the TLS port only (sending it over plain HTTP means nothing, and browsers ignore
// it there).
func TestHSTSOnTLSPort(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	srv := httptest.NewUnstartedServer(s.App.API.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.App.Cert.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.App.Cert.CAPEM))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.URL + "/api/v1/version")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))

	resp, err = http.Get(s.URL + "/api/v1/version")
	require.NoError(t, err)
	resp.Body.Close()
	require.Empty(t, resp.Header.Get("Strict-Transport-Security"))
}
