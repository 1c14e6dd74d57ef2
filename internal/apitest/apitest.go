// Package apitest starts a fully wired server (internal/app, exactly as cmd/server wires it) for
// HTTP tests, and gives them clients that log in as users with chosen roles.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/internal/app"
	"github.com/kubespace/kubespace/pkg/config"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

// SetupToken is the setup token of test servers.
const SetupToken = "test-setup-token-0123456789"

// Password is every test user's password.
const Password = "test-password-1"

// Server is a running test server.
type Server struct {
	App *app.App
	URL string
	t   testing.TB
	v   *validator
}

// Start wires a server on the embedded SQLite database in a temp dir; env adds configuration
// (for example MYSQL_HOST). It is stopped when the test ends.
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	vars := map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": SetupToken}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.LoadServer(nil, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("KUBESPACE_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	a, err := app.New(context.Background(), cfg, app.Options{Log: log, BcryptCost: bcrypt.MinCost,
		Version: httpapi.VersionInfo{Version: "test", Commit: "test"}})
	if err != nil {
		t.Fatalf("start app: %v", err)
	}
	ts := httptest.NewServer(a.API.Handler())
	t.Cleanup(func() {
		ts.Close()
		a.Close()
	})
	s := &Server{App: a, URL: ts.URL, t: t}
	s.v = newValidator(t, s)
	return s
}

// For returns the server bound to t, so failures inside subtests fail the subtest.
func (s *Server) For(t testing.TB) *Server {
	c := *s
	c.t = t
	return &c
}

// For returns the client bound to t.
func (c *Client) For(t testing.TB) *Client {
	d := *c
	d.S = c.S.For(t)
	return &d
}

// Client calls the API with a bearer token (empty: anonymous).
type Client struct {
	S      *Server
	Token  string
	UserID int64
	Name   string
}

// Anonymous returns a client without credentials.
func (s *Server) Anonymous() *Client { return &Client{S: s} }

// Response is a decoded response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// RequestOption adjusts a request before it is sent (cookies, Origin, forwarded addresses).
type RequestOption func(*http.Request)

// Do sends a request; body may be nil, a string/[]byte (sent as is) or a value (JSON-encoded).
// The response is checked against the server's OpenAPI document.
func (c *Client) Do(method, path string, body any, opts ...RequestOption) *Response {
	c.S.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.S.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.S.URL+path, rd)
	if err != nil {
		c.S.t.Fatalf("request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.S.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	c.S.Check(c.S.t, method, req.URL.String(), resp.StatusCode, resp.Header, data)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Check validates one exchange against the server's OpenAPI document: every response any test
// sees must match the published contract. rawURL is absolute.
func (s *Server) Check(t testing.TB, method, rawURL string, status int, header http.Header, body []byte) {
	t.Helper()
	s.v.check(t, method, rawURL, status, header, body)
}

// Expect sends a request and fails the test unless the status matches.
func (c *Client) Expect(status int, method, path string, body any) *Response {
	c.S.t.Helper()
	r := c.Do(method, path, body)
	if r.Status != status {
		c.S.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, c.Name, r.Status, status, r.Body)
	}
	return r
}

// Admin runs first-run setup and returns the super admin's client.
func (s *Server) Admin() *Client {
	s.t.Helper()
	s.Anonymous().Expect(http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": Password, "email": "admin@example.com", "setup_token": SetupToken})
	return s.Login("admin", Password)
}

// Login logs in and returns a client carrying the session token.
func (s *Server) Login(username, password string) *Client {
	s.t.Helper()
	r := s.Anonymous().Expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	var out struct {
		Token string `json:"token"`
		User  struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	r.JSON(s.t, &out)
	return &Client{S: s, Token: out.Token, UserID: out.User.ID, Name: username}
}

// User creates a user (as admin) and, when role is not empty, grants it that role in the scope;
// it returns the user's logged-in client.
func (s *Server) User(admin *Client, username, scope string, scopeID int64, role string) *Client {
	s.t.Helper()
	r := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/users", map[string]any{"username": username, "password": Password})
	var u struct {
		ID int64 `json:"id"`
	}
	r.JSON(s.t, &u)
	if role != "" {
		admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings",
			map[string]any{"user_id": u.ID, "scope": scope, "scope_id": scopeID, "role": role})
	}
	return s.Login(username, Password)
}

// ID returns the "id" of a created object.
func (r *Response) ID(t testing.TB) int64 {
	var v struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &v)
	if v.ID == 0 {
		t.Fatalf("no id in %s", r.Body)
	}
	return v.ID
}

// Path formats a path.
func Path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
