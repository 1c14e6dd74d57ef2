package app_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/faultproxy"
	"github.com/kubespace/kubespace/internal/testdeps"
)

// TestDatabaseOutage: while the database is unreachable every request that needs it answers 503
// with Retry-After — never a 403 (a denial the caller did not earn), never a 500 leaking the
// driver's error — and the server recovers by itself once the database is back.
func TestDatabaseOutage(t *testing.T) {
	db := testdeps.MySQLDatabase(t)
	link := faultproxy.Start(t, db.Addr)
	host, port, _ := net.SplitHostPort(link.Addr())
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	s := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "outage-setup-token-123",
		"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Passwd,
		"MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": testdeps.RedisAddr(t), "SECRET_KEY": key})

	st, body := call(t, "POST", s.url+"/api/v1/setup", "", `{"username":"admin","password":"password-123","email":"a@example.com","setup_token":"outage-setup-token-123"}`)
	require.Equal(t, 201, st, body)
	login := func(user string) string {
		st, body := call(t, "POST", s.url+"/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":"password-123"}`, user))
		require.Equal(t, 200, st, body)
		return field(t, body, "token")
	}
	admin := login("admin")
	st, body = call(t, "POST", s.url+"/api/v1/clusters", admin, `{"name":"edge"}`)
	require.Equal(t, 201, st, body)
	clusterID := field(t, body, "id")
	st, body = call(t, "POST", s.url+"/api/v1/users", admin, `{"username":"ops","password":"password-123"}`)
	require.Equal(t, 201, st, body)
	st, body = call(t, "POST", s.url+"/api/v1/role-bindings", admin, fmt.Sprintf(`{"user_id":%s,"scope":"cluster","scope_id":%s,"role":"viewer"}`, field(t, body, "id"), clusterID))
	require.Equal(t, 201, st, body)
	ops := login("ops")

	requests := []struct{ method, path, token, body string }{
		{"GET", "/api/v1/users/me", ops, ""},
		{"GET", "/api/v1/clusters", ops, ""},
		{"GET", "/api/v1/clusters/" + clusterID, ops, ""},
		{"GET", "/api/v1/clusters/" + clusterID + "/proxy/api/v1/namespaces", ops, ""},
		{"GET", "/api/v1/clusters/999", ops, ""},
		{"PUT", "/api/v1/clusters/" + clusterID, ops, `{"description":"x"}`},
		{"GET", "/api/v1/secrets", ops, ""},
		{"GET", "/api/v1/audit-events", admin, ""},
		{"POST", "/api/v1/secrets", admin, `{"name":"git","type":"token","token":"abc"}`},
		{"POST", "/api/v1/auth/login", "", `{"username":"ops","password":"password-123"}`},
	}
	// Warm the caches: during the outage some requests are then answered from them and others
	// reach the database, as in a real one.
	before := map[string]int{}
	for _, r := range requests {
		resp, _ := do(t, s.url, r.method, r.path, r.token, r.body)
		before[r.method+" "+r.path] = resp.StatusCode
	}

	link.Down()
	for round := 0; round < 2; round++ {
		if round == 1 {
			// Cold caches: authentication and role bindings must come from the database.
			s.app.Identity.Forget(0)
			s.app.Authorizer.Forget(0)
		}
		for _, r := range requests {
			resp, body := do(t, s.url, r.method, r.path, r.token, r.body)
			// Answered as before the outage (from a cache) or 503: any other 4xx or 500 would be
			// the outage passed off as the caller's fault.
			if resp.StatusCode != before[r.method+" "+r.path] || round == 1 {
				require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s %s during the outage: %s", r.method, r.path, body)
				require.NotEmpty(t, resp.Header.Get("Retry-After"), "%s %s", r.method, r.path)
				require.NotContains(t, body, "tcp", "the body says what to do, not the driver's error")
				require.NotContains(t, strings.ToLower(body), "invalid connection")
			}
		}
		// Readiness says so too.
		resp, _ := do(t, s.url, "GET", "/readyz", "", "")
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}

	link.Up()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body := do(t, s.url, "GET", "/api/v1/clusters/"+clusterID, ops, "")
		if resp.StatusCode == http.StatusOK {
			break
		}
		require.True(t, time.Now().Before(deadline), "no recovery: %d %s", resp.StatusCode, body)
		time.Sleep(200 * time.Millisecond)
	}
	for _, r := range requests {
		if r.method == "POST" && r.path == "/api/v1/secrets" {
			continue // created before the outage: now a conflict
		}
		resp, body := do(t, s.url, r.method, r.path, r.token, r.body)
		require.Equal(t, before[r.method+" "+r.path], resp.StatusCode, "%s %s after recovery: %s", r.method, r.path, body)
	}
	// The audit log holds the earned denials of the rounds before and after, and none for the
	// outage.
	denied := 0
	for _, r := range requests {
		if r.token == ops && before[r.method+" "+r.path] == http.StatusForbidden {
			denied++
		}
	}
	st, body = call(t, "GET", s.url+"/api/v1/audit-events?result=failure&username=ops", admin, "")
	require.Equal(t, 200, st, body)
	require.Equal(t, 2*denied, strings.Count(body, `"status_code":403`), body)
}

func do(t *testing.T, base, method, path, token, body string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}
