package app_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kubespace/kubespace/internal/kubetestenv"
)

// TestLifecyclesAreOwned: informers, watches, connections to clusters and background loops start
// from the application and stop with it — when a cluster is removed, its share; at shutdown,
// everything — so a process (or a test) that runs many applications does not leak.
func TestLifecyclesAreOwned(t *testing.T) {
	kube := kubetestenv.Start(t, kubetestenv.DefaultName)
	kc, err := os.ReadFile(kube.Kubeconfig)
	require.NoError(t, err)
	beforeStart := goleak.IgnoreCurrent()

	// Without the local spacelet: its long polls end and begin again on their own schedule, which
	// the cluster-removal check below would read as new goroutines. TestPipelineLifecyclesAreOwned
	// checks that the spacelet and the controllers stop with the application.
	s := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "lifecycle-setup-token-1", "LOCAL_SPACELET": "false"})
	st, body := call(t, "POST", s.url+"/api/v1/setup", "", `{"username":"admin","password":"password-123","email":"a@example.com","setup_token":"lifecycle-setup-token-1"}`)
	require.Equal(t, 201, st, body)
	st, body = call(t, "POST", s.url+"/api/v1/auth/login", "", `{"username":"admin","password":"password-123"}`)
	require.Equal(t, 200, st, body)
	admin := field(t, body, "token")
	http.DefaultClient.CloseIdleConnections()
	running := goleak.IgnoreCurrent()

	use := func() string {
		t.Helper()
		st, body := call(t, "POST", s.url+"/api/v1/clusters", admin, fmt.Sprintf(`{"name":"c%d","kubeconfig":%q}`, time.Now().UnixNano(), string(kc)))
		require.Equal(t, 201, st, body)
		id := field(t, body, "id")
		for _, path := range []string{"/resources/pods", "/resources/namespaces", "/kinds", "/overview", "/proxy/version",
			"/proxy/api/v1/namespaces?watch=true&timeoutSeconds=1"} {
			st, body := call(t, "GET", s.url+"/api/v1/clusters/"+id+path, admin, "")
			require.Equal(t, 200, st, "%s: %s", path, body)
		}
		return id
	}

	// Removing a cluster stops its informers and closes its connections.
	id := use()
	st, body = call(t, "DELETE", s.url+"/api/v1/clusters/"+id, admin, "")
	require.Equal(t, 204, st, body)
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, running)

	// Shutting down stops everything, including what a cluster still in use holds.
	use()
	s.stop()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, beforeStart)
}

// TestPipelineLifecyclesAreOwned: the pipeline controllers and the local spacelet of the
// embedded mode stop with the application, leaving no goroutine behind.
func TestPipelineLifecyclesAreOwned(t *testing.T) {
	beforeStart := goleak.IgnoreCurrent()
	s := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "lifecycle-setup-token-2"})
	st, body := call(t, "POST", s.url+"/api/v1/setup", "", `{"username":"admin","password":"password-123","email":"a@example.com","setup_token":"lifecycle-setup-token-2"}`)
	require.Equal(t, 201, st, body)
	st, body = call(t, "POST", s.url+"/api/v1/auth/login", "", `{"username":"admin","password":"password-123"}`)
	require.Equal(t, 200, st, body)
	admin := field(t, body, "token")
	// The local spacelet has registered and polls: everything that must stop is running.
	require.Eventually(t, func() bool {
		st, body := call(t, "GET", s.url+"/api/v1/spacelets", admin, "")
		return st == 200 && strings.Contains(body, `"status":"online"`)
	}, 30*time.Second, 50*time.Millisecond, "the local spacelet never came online")
	s.stop()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, beforeStart)
}
