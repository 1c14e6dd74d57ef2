package systemtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/kubespace/kubespace/internal/kubetestenv"
	"github.com/kubespace/kubespace/internal/proctest"
	"github.com/kubespace/kubespace/internal/testdeps"
)

const password = "system-test-pass-1"

// replicas starts two server processes on one fresh MariaDB database and the shared Redis, runs
// first-run setup and returns them with the super admin's client on the first.
func replicas(t *testing.T) (a, b *proctest.Server, admin client) {
	t.Helper()
	db := testdeps.MySQLDatabase(t)
	host, port, _ := net.SplitHostPort(db.Addr)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	env := func() map[string]string {
		return map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Passwd,
			"MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": testdeps.RedisAddr(t), "SECRET_KEY": key,
			"SETUP_TOKEN": "system-test-setup-token", "DATA_DIR": t.TempDir(), "LOGIN_MAX_PER_IP": "10000"}
	}
	a = proctest.StartServer(t, "server-a", env())
	b = proctest.StartServer(t, "server-b", env())
	client{url: a.URL}.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": password, "email": "admin@example.com", "setup_token": "system-test-setup-token"}, nil)
	return a, b, login(t, a.URL, "admin", password)
}

// TestRevocationAcrossReplicas: a change made on one replica — a disabled user, a revoked token,
// a removed role binding, a logout — takes effect on the other within a second, despite its
// per-process cache, and ends the caller's open watch there.
func TestRevocationAcrossReplicas(t *testing.T) {
	kube := kubetestenv.Start(t, kubetestenv.DefaultName)
	kc, err := os.ReadFile(kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	a, b, admin := replicas(t)
	var cl idOnly
	admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/clusters", map[string]string{"name": "shared", "kubeconfig": string(kc)}, &cl)

	// newCaller creates a cluster editor and returns its session (made on a, used on b).
	n := 0
	newCaller := func(t *testing.T) (client, int64, int64) {
		n++
		var u, rb idOnly
		admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/users", map[string]any{"username": fmt.Sprintf("ops%d", n), "password": password}, &u)
		admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/role-bindings",
			map[string]any{"user_id": u.ID, "scope": "cluster", "scope_id": cl.ID, "role": "editor"}, &rb)
		return login(t, a.URL, fmt.Sprintf("ops%d", n), password), u.ID, rb.ID
	}
	// Each case returns the credential to use and the change that revokes it, made on a.
	cases := []struct {
		name    string
		prepare func(t *testing.T, session client, userID, bindingID int64) (client, func())
		// refused is the status b answers once the change has reached it.
		refused int
	}{
		{"user disabled", func(t *testing.T, session client, userID, _ int64) (client, func()) {
			return session, func() {
				admin.expect(t, http.StatusOK, http.MethodPut, path("/api/v1/users/%d", userID), map[string]string{"status": "disabled"}, nil)
			}
		}, http.StatusUnauthorized},
		{"token revoked", func(t *testing.T, session client, _, _ int64) (client, func()) {
			var tok struct {
				ID    int64  `json:"id"`
				Token string `json:"token"`
			}
			session.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]string{"name": "replicas"}, &tok)
			return client{url: a.URL, token: tok.Token}, func() {
				session.expect(t, http.StatusNoContent, http.MethodDelete, path("/api/v1/tokens/%d", tok.ID), nil, nil)
			}
		}, http.StatusUnauthorized},
		{"logout", func(t *testing.T, session client, _, _ int64) (client, func()) {
			return session, func() { session.expect(t, http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", nil, nil) }
		}, http.StatusUnauthorized},
		{"role binding removed", func(t *testing.T, session client, _, bindingID int64) (client, func()) {
			return session, func() {
				admin.expect(t, http.StatusNoContent, http.MethodDelete, path("/api/v1/role-bindings/%d", bindingID), nil, nil)
			}
		}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			session, userID, bindingID := newCaller(t)
			caller, change := tc.prepare(t, session, userID, bindingID)
			onB := caller.on(b.URL)
			clusterPath := path("/api/v1/clusters/%d/resources/namespaces?limit=5", cl.ID)
			// b has the caller cached (credential, user, role bindings) and a watch open.
			onB.expect(t, http.StatusOK, http.MethodGet, clusterPath, nil, nil)
			watchDone := openWatch(t, onB, cl.ID)

			change()
			deadline := time.Now().Add(time.Second)
			for {
				st, body := onB.do(t, http.MethodGet, clusterPath, nil)
				if st == tc.refused {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("replica b still answers %d a second after the %s: %.200s", st, tc.name, body)
				}
				time.Sleep(20 * time.Millisecond)
			}
			select {
			case <-watchDone:
			case <-time.After(5 * time.Second):
				t.Fatalf("the watch on replica b stayed open 5 s after the %s", tc.name)
			}
		})
	}
}

// openWatch opens a namespace watch through c's server and returns a channel closed when it ends.
func openWatch(t *testing.T, c client, clusterID int64) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+path("/api/v1/clusters/%d/proxy/api/v1/namespaces?watch=true", clusterID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %d", resp.StatusCode)
	}
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("watch delivers nothing: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
	return done
}
