package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// Watches over websocket (what browsers use; kubectl uses chunked HTTP) reach the API server,
// whose websocket handshake refuses a request without an Origin: plain frames and the
// base64.binary.k8s.io subprotocol, with and without the browser's own (same-site) Origin.
func TestProxyWebsocketWatch(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns := e.namespace(t, "ks-wswatch")
	viewer := e.user(t, "cviewer", id, "viewer")
	url := "ws" + strings.TrimPrefix(e.s.URL, "http") + fmt.Sprintf("/api/v1/clusters/%d/proxy/api/v1/namespaces/%s/configmaps?watch=1", id, ns)
	for _, tc := range []struct {
		name, protocol string
		origin         bool
	}{
		{"plain", "", false},
		{"base64 subprotocol", "base64.binary.k8s.io", false},
		{"browser origin", "base64.binary.k8s.io", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
			if tc.protocol != "" {
				d.Subprotocols = []string{tc.protocol}
			}
			h := http.Header{"Authorization": {"Bearer " + viewer.Token}}
			if tc.origin {
				h.Set("Origin", e.s.URL)
			}
			conn, resp, err := d.Dial(url, h)
			if resp != nil {
				defer resp.Body.Close()
			}
			require.NoError(t, err, "handshake answered %v", status(resp))
			defer conn.Close()

			name := uniq("ws")
			e.kube.Kubectl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+name+"}\n", "apply", "-n", ns, "-f", "-")
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
			for {
				_, msg, err := conn.ReadMessage()
				require.NoError(t, err, "waiting for the ADDED event of %s", name)
				// Watch frames are JSON events whatever the subprotocol (base64 applies to the
				// channels of exec and attach).
				var ev struct {
					Type   string `json:"type"`
					Object struct {
						Metadata struct {
							Name string `json:"name"`
						} `json:"metadata"`
					} `json:"object"`
				}
				require.NoError(t, json.Unmarshal(msg, &ev), "%s", msg)
				if ev.Type == "ADDED" && ev.Object.Metadata.Name == name {
					return
				}
			}
		})
	}
	t.Run("another site's origin is refused by KubeSpace", func(t *testing.T) {
		d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
		_, resp, err := d.Dial(url, http.Header{"Authorization": {"Bearer " + viewer.Token}, "Origin": {"https://evil.example"}})
		require.Error(t, err)
		require.NotNil(t, resp)
		defer resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

func status(resp *http.Response) string {
	if resp == nil {
		return "nothing"
	}
	return resp.Status
}
