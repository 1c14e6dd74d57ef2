package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/internal/app"
	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/config"
)

// lockedBuffer collects a server's log lines from its goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is one server process (in-process, wired as cmd/server wires it).
type running struct {
	url  string
	app  *app.App
	stop func()
}

func start(t *testing.T, env map[string]string) *running {
	t.Helper()
	cfg, err := config.LoadServer(nil, func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	// The server's log is shown when the test fails (a 500 says only its request id).
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	a, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.NewTextHandler(logs, nil)), BcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln, nil) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
		a.Close()
	}
	t.Cleanup(stop)
	return &running{url: "http://" + ln.Addr().String(), app: a, stop: stop}
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func field(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `"`+name+`":`)
	require.GreaterOrEqual(t, i, 0, "%s in %s", name, body)
	rest := strings.TrimLeft(body[i+len(name)+3:], " ")
	if strings.HasPrefix(rest, `"`) {
		return rest[1 : 1+strings.Index(rest[1:], `"`)]
	}
	end := strings.IndexAny(rest, ",}")
	return rest[:end]
}

// TestRestartKeepsState: users, sessions and secrets survive a restart, on the embedded default
// and on MySQL + Redis; the secret key from configuration (or the generated key file) still
// opens what was sealed.
func TestRestartKeepsState(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	engines := map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string {
			return map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "restart-setup-token-123"}
		},
		"mysql+redis": func(t *testing.T) map[string]string {
			db := testdeps.MySQLDatabase(t)
			host, port, _ := net.SplitHostPort(db.Addr)
			return map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "restart-setup-token-123",
				"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Passwd,
				"MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": testdeps.RedisAddr(t), "SECRET_KEY": key}
		},
	}
	for name, envFor := range engines {
		t.Run(name, func(t *testing.T) {
			env := envFor(t)
			s := start(t, env)
			st, body := call(t, "POST", s.url+"/api/v1/setup", "", `{"username":"admin","password":"password-123","email":"a@example.com","setup_token":"restart-setup-token-123"}`)
			require.Equal(t, 201, st, body)
			st, body = call(t, "POST", s.url+"/api/v1/auth/login", "", `{"username":"admin","password":"password-123"}`)
			require.Equal(t, 200, st, body)
			session := field(t, body, "token")
			st, body = call(t, "POST", s.url+"/api/v1/secrets", session, `{"name":"git","type":"password","username":"ci","password":"sealed-value-1"}`)
			require.Equal(t, 201, st, body)
			secretID := field(t, body, "id")
			st, body = call(t, "POST", s.url+"/api/v1/users", session, `{"username":"bob","password":"password-456"}`)
			require.Equal(t, 201, st, body)
			st, _ = call(t, "GET", s.url+"/readyz", "", "")
			require.Equal(t, 200, st)
			s.stop()

			s2 := start(t, env)
			st, body = call(t, "GET", s2.url+"/api/v1/users/me", session, "")
			require.Equal(t, 200, st, "the session survives the restart: %s", body)
			st, body = call(t, "GET", s2.url+"/api/v1/users?q=bob", session, "")
			require.Equal(t, 200, st)
			require.Contains(t, body, `"username":"bob"`)
			st, body = call(t, "GET", fmt.Sprintf("%s/api/v1/secrets/%s", s2.url, secretID), session, "")
			require.Equal(t, 200, st)
			require.Contains(t, body, `"has_password":true`)
			require.NotContains(t, body, "sealed-value-1")
			st, _ = call(t, "GET", s2.url+"/api/v1/setup", "", "")
			require.Equal(t, 200, st)
			st, body = call(t, "POST", s2.url+"/api/v1/auth/login", "", `{"username":"bob","password":"password-456"}`)
			require.Equal(t, 200, st, body)
		})
	}
}

// TestMySQLNeedsSecretKey: production mode refuses to start without the key.
func TestMySQLNeedsSecretKey(t *testing.T) {
	_, err := config.LoadServer(nil, func(k string) string {
		return map[string]string{"MYSQL_HOST": "127.0.0.1"}[k]
	})
	require.ErrorContains(t, err, "SECRET_KEY or SECRET_KEY_FILE is required")
}

// TestGracefulShutdown: Run returns once its context ends, finishing in-flight requests.
func TestGracefulShutdown(t *testing.T) {
	s := start(t, map[string]string{"DATA_DIR": t.TempDir()})
	st, _ := call(t, "GET", s.url+"/healthz", "", "")
	require.Equal(t, 200, st)
	done := make(chan struct{})
	go func() { s.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown hung")
	}
}
