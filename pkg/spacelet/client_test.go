package spacelet_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/spacelet"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

// The spacelet trusts a server certificate from a private CA only when given the CA (CA_FILE),
// and sends the protocol version on every call.
func TestClientTLSTrust(t *testing.T) {
	var version string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version = r.Header.Get(protocol.VersionHeader)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"registration_token_refused","message":"no"}`))
	}))
	defer srv.Close()
	req := protocol.RegisterRequest{Token: "ksr_x", Name: "n", Capacity: 1}

	plain, err := spacelet.NewClient(srv.URL, nil)
	require.NoError(t, err)
	_, err = plain.Register(context.Background(), req)
	require.Error(t, err)
	require.NotErrorIs(t, err, protocol.ErrUnauthorized, "an unknown CA is refused before anything is sent")
	require.Contains(t, err.Error(), "certificate")

	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	hc, err := spacelet.HTTPClient(ca)
	require.NoError(t, err)
	trusting, err := spacelet.NewClient(srv.URL, hc)
	require.NoError(t, err)
	_, err = trusting.Register(context.Background(), req)
	require.ErrorIs(t, err, protocol.ErrUnauthorized)
	require.Equal(t, protocol.Version, version)

	_, err = spacelet.HTTPClient([]byte("not pem"))
	require.ErrorContains(t, err, "no PEM certificate")
	_, err = spacelet.NewClient("ftp://x", nil)
	require.Error(t, err)
}
