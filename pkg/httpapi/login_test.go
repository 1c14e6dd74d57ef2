package httpapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

func tryLogin(t *testing.T, s *apitest.Server, username, password string, opts ...reqOpt) *apitest.Response {
	t.Helper()
	return send(t, s, http.MethodPost, "/api/v1/auth/login", map[string]any{"username": username, "password": password}, opts...)
}

// requireRateLimited asserts a 429 with a positive Retry-After.
func requireRateLimited(t *testing.T, r *apitest.Response) {
	t.Helper()
	requireError(t, r, http.StatusTooManyRequests, "rate_limited")
	after, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	require.Positive(t, after)
}

// setupOnly runs first-run setup without logging in (logins count against the rate limits).
func setupOnly(t *testing.T, s *apitest.Server) {
	s.Anonymous().Expect(http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": apitest.Password, "email": "admin@example.com", "setup_token": apitest.SetupToken})
}

func TestLoginRateLimitPerUser(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil) // defaults: 5 failures per user per 5 minutes, 20 attempts per IP per minute
	admin := s.Admin()
	newUser(t, admin, "bob")
	newUser(t, admin, "carol")
	for i := 0; i < 5; i++ {
		requireError(t, tryLogin(t, s, "bob", "wrong-password"), http.StatusUnauthorized, "invalid_credentials")
	}
	requireRateLimited(t, tryLogin(t, s, "bob", "wrong-password"))
	requireRateLimited(t, tryLogin(t, s, "bob", apitest.Password))
	requireRateLimited(t, tryLogin(t, s, " bob ", apitest.Password))
	require.Equal(t, http.StatusOK, tryLogin(t, s, "carol", apitest.Password).Status, "another user from the same address is not locked")

	events := auditQuery(t, admin, url.Values{"username": {"bob"}, "action": {"login"}})
	require.Len(t, events.Items, 7) // 5 failures and 2 refusals; " bob " is recorded as sent
	for _, e := range events.Items {
		require.Equal(t, "failure", e.Result)
		require.Contains(t, []int{401, 429}, e.StatusCode)
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "3"})
	setupOnly(t, s)
	require.Equal(t, http.StatusOK, tryLogin(t, s, "admin", apitest.Password).Status)
	requireError(t, tryLogin(t, s, "admin", "wrong-password"), http.StatusUnauthorized, "invalid_credentials")
	requireError(t, tryLogin(t, s, "nobody", "wrong-password"), http.StatusUnauthorized, "invalid_credentials")
	requireRateLimited(t, tryLogin(t, s, "admin", apitest.Password))
	requireRateLimited(t, tryLogin(t, s, "someone-else", "whatever-password"))
}

// TestForwardedFor: X-Forwarded-For names the client only when the peer is a trusted proxy,
// in the audit log and in the per-address rate limit.
func TestForwardedFor(t *testing.T) {
	t.Parallel()
	const forwarded = "203.0.113.9"
	cases := []struct {
		name    string
		env     map[string]string
		wantIP  string
		limitBy string // the address the per-IP limit counts
	}{
		{"trusted proxy", map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "LOGIN_MAX_PER_IP": "2"}, forwarded, forwarded},
		{"untrusted peer", map[string]string{"LOGIN_MAX_PER_IP": "2"}, "127.0.0.1", "127.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := apitest.Start(t, tc.env)
			setupOnly(t, s)
			xff := withHeader("X-Forwarded-For", forwarded)
			tok := tryLogin(t, s, "admin", apitest.Password, xff)
			require.Equal(t, http.StatusOK, tok.Status, "%s", tok.Body)
			requireError(t, tryLogin(t, s, "ghost", "wrong-password", xff), http.StatusUnauthorized, "invalid_credentials")

			admin := &apitest.Client{S: s, Token: tok.Map(t)["token"].(string), Name: "admin"}
			for _, user := range []string{"admin", "ghost"} {
				p := auditQuery(t, admin.For(t), url.Values{"username": {user}, "action": {"login"}})
				require.Len(t, p.Items, 1)
				require.Equal(t, tc.wantIP, p.Items[0].IP)
			}
			// Two attempts were counted against limitBy: a third from it is refused, while
			// the other address is untouched.
			if tc.limitBy == forwarded {
				requireRateLimited(t, tryLogin(t, s, "admin", apitest.Password, xff))
				require.Equal(t, http.StatusOK, tryLogin(t, s, "admin", apitest.Password).Status)
			} else {
				requireRateLimited(t, tryLogin(t, s, "admin", apitest.Password, withHeader("X-Forwarded-For", "198.51.100.1")))
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	cookie, bearer := withCookie(admin.Token), withBearer(admin.Token)
	token := map[string]any{"name": "csrf"}
	cases := []struct {
		name         string
		method, path string
		body         any
		opts         []reqOpt
		status       int
	}{
		{"cookie write without Origin", http.MethodPost, "/api/v1/tokens", token, []reqOpt{cookie}, http.StatusForbidden},
		{"cookie write from another site", http.MethodPost, "/api/v1/tokens", token,
			[]reqOpt{cookie, withHeader("Origin", "http://evil.example")}, http.StatusForbidden},
		{"cookie write from a look-alike host", http.MethodPost, "/api/v1/tokens", token,
			[]reqOpt{cookie, withHeader("Origin", s.URL+".evil.example")}, http.StatusForbidden},
		{"cookie write with a null Origin", http.MethodPost, "/api/v1/tokens", token,
			[]reqOpt{cookie, withHeader("Origin", "null")}, http.StatusForbidden},
		{"cookie write with a foreign Referer", http.MethodPost, "/api/v1/tokens", token,
			[]reqOpt{cookie, withHeader("Referer", "http://evil.example/page")}, http.StatusForbidden},
		{"cookie delete from another site", http.MethodDelete, "/api/v1/users/1", nil,
			[]reqOpt{cookie, withHeader("Origin", "http://evil.example")}, http.StatusForbidden},
		{"cookie write from the server's origin", http.MethodPost, "/api/v1/tokens", token,
			[]reqOpt{cookie, withHeader("Origin", s.URL)}, http.StatusCreated},
		{"cookie write with the server's Referer", http.MethodPost, "/api/v1/tokens", token,
			[]reqOpt{cookie, withHeader("Referer", s.URL+"/settings")}, http.StatusCreated},
		{"cookie read from another site", http.MethodGet, "/api/v1/tokens", nil,
			[]reqOpt{cookie, withHeader("Origin", "http://evil.example")}, http.StatusOK},
		{"bearer write without Origin", http.MethodPost, "/api/v1/tokens", token, []reqOpt{bearer}, http.StatusCreated},
		{"login from another site", http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "admin", "password": apitest.Password},
			[]reqOpt{withHeader("Origin", "http://evil.example")}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, s, tc.method, tc.path, tc.body, tc.opts...)
			if tc.status == http.StatusForbidden {
				requireError(t, r, http.StatusForbidden, "csrf_refused")
				return
			}
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
		})
	}
	admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/users/1", nil) // the refused delete did nothing
}
