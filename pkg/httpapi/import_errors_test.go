package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

// Importing a kubeconfig that points at a server that is not a Kubernetes API server fails with
// 422 and says what happened, without repeating anything the server sent: its error pages, a
// JSON document of another service, a 2xx body that does not decode.
func TestImportNeverEchoesForeignResponses(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	const marker = "TOP-SECRET-import-3b9d"
	cases := []struct {
		name, contentType, body string
		status                  int
		says                    string // part of the message
	}{
		{"html page", "text/html", "<html><title>Router login</title><body>" + marker + "</body></html>", http.StatusOK, "not a Kubernetes API response"},
		{"json with secrets", "application/json", `{"apiVersion":"v1","kind":"Config","password":"` + marker + `"}`, http.StatusOK, "not a Kubernetes API response"},
		{"json error", "application/json", `{"error":"` + marker + `"}`, http.StatusInternalServerError, "HTTP 500"},
		{"text error", "text/plain", "stack trace: " + marker, http.StatusInternalServerError, "HTTP 500"},
		{"html forbidden", "text/html", "<h1>403</h1>" + marker, http.StatusForbidden, "HTTP 403"},
		{"html unauthorized", "text/html", "<h1>401</h1>" + marker, http.StatusUnauthorized, ""},
		{"text bad gateway", "", marker, http.StatusBadGateway, "HTTP 502"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				} else {
					w.Header()["Content-Type"] = nil
				}
				w.WriteHeader(tc.status)
				_, _ = fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: c
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
`, srv.URL)
			r := admin.For(t).Do(http.MethodPost, "/api/v1/clusters", map[string]any{"name": fmt.Sprintf("foreign-%d", i), "kubeconfig": kc})
			require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
			require.NotContains(t, string(r.Body), marker)
			e := errorOf(t, r)
			require.Equal(t, "cluster_unreachable", e.Code)
			require.True(t, strings.HasPrefix(e.Message, "cannot use the kubeconfig: "), e.Message)
			require.Contains(t, e.Message, tc.says)
		})
	}
	// Nothing was imported, and the audit log does not hold the bodies either.
	var l struct {
		Total int `json:"total"`
	}
	admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/clusters", nil).JSON(t, &l)
	require.Zero(t, l.Total)
	all := admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?limit=1000", nil)
	require.NotContains(t, string(all.Body), marker)
}
