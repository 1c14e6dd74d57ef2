package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

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

// from sends the request as if from addr (the test servers trust 127.0.0.1 as a proxy).
func from(addr string) reqOpt { return withHeader("X-Forwarded-For", addr) }

// retryAfter returns a 429's Retry-After in seconds.
func retryAfter(t *testing.T, r *apitest.Response) int {
	t.Helper()
	requireRateLimited(t, r)
	n, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	return n
}

// TestLoginParallelGuesses: of 40 wrong passwords sent at once from one address, exactly
// LOGIN_MAX_FAILURES are evaluated and the rest refused, on each engine (the attempt is counted
// before the password is checked). The address is locked, the user is not: the right password
// from another address signs in.
func TestLoginParallelGuesses(t *testing.T) {
	t.Parallel()
	// The address limit is raised so that only the lockout under test answers.
	env := map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "LOGIN_MAX_PER_IP": "1000"}
	onEachEngine(t, env, func(t *testing.T, s *apitest.Server) {
		setupOnly(t, s)
		const attacker = "198.51.100.1"
		var wg sync.WaitGroup
		statuses := make(chan *apitest.Response, 40)
		for range 40 {
			wg.Go(func() { statuses <- tryLogin(t, s, "admin", "wrong-password", from(attacker)) })
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for r := range statuses {
			count[r.Status]++
			if r.Status == http.StatusTooManyRequests {
				// The window of 5 minutes opened with the burst, a moment ago.
				require.InDelta(t, 300, retryAfter(t, r), 5)
			}
		}
		require.Equal(t, map[int]int{http.StatusUnauthorized: 5, http.StatusTooManyRequests: 35}, count)

		requireRateLimited(t, tryLogin(t, s, "admin", apitest.Password, from(attacker)))
		require.Equal(t, http.StatusOK, tryLogin(t, s, "admin", apitest.Password, from("203.0.113.7")).Status,
			"the owner signs in from another address")
		requireRateLimited(t, tryLogin(t, s, "admin", apitest.Password, from(attacker)))
	})
}

// TestLoginRetryAfterIsExact: a client that waits the announced Retry-After gets in, and one
// that comes back a second early does not. The refusal comes a fraction of a second into the
// window, so a Retry-After rounded to the nearest second instead of up would be too short.
func TestLoginRetryAfterIsExact(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_FAILURES": "2", "LOGIN_FAILURE_WINDOW": "3s"})
	setupOnly(t, s)
	start := time.Now()
	for range 2 {
		requireError(t, tryLogin(t, s, "admin", "wrong-password"), http.StatusUnauthorized, "invalid_credentials")
	}
	time.Sleep(600 * time.Millisecond)
	sent := time.Now()
	after := retryAfter(t, tryLogin(t, s, "admin", apitest.Password))
	received := time.Now()
	// The window opened between start and the first answer and lasts 3s.
	require.LessOrEqual(t, after, 3)
	require.GreaterOrEqual(t, float64(after), 3-received.Sub(start).Seconds())
	// The lock ends after sent + after - 1s: 1.3s early is still refused...
	time.Sleep(time.Until(sent.Add(time.Duration(after)*time.Second - 1300*time.Millisecond)))
	require.LessOrEqual(t, retryAfter(t, tryLogin(t, s, "admin", apitest.Password)), 2)
	// ...and it has ended by received + after.
	time.Sleep(time.Until(received.Add(time.Duration(after) * time.Second)))
	require.Equal(t, http.StatusOK, tryLogin(t, s, "admin", apitest.Password).Status)
}

// TestLoginBackoffAcrossAddresses: guesses spread over many addresses (none locked) meet the
// per-user backoff after 4 x LOGIN_MAX_FAILURES: each further attempt waits 1s, then 2s, ...
// and the right password after the wait still signs in.
func TestLoginBackoffAcrossAddresses(t *testing.T) {
	t.Parallel()
	onEachEngine(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "LOGIN_MAX_FAILURES": "1"}, func(t *testing.T, s *apitest.Server) {
		setupOnly(t, s)
		n := 0
		next := func() reqOpt { n++; return from(fmt.Sprintf("192.0.2.%d", n)) }
		for range 4 {
			requireError(t, tryLogin(t, s, "admin", "wrong-password", next()), http.StatusUnauthorized, "invalid_credentials")
		}
		require.Equal(t, 1, retryAfter(t, tryLogin(t, s, "admin", "wrong-password", next())))
		require.Equal(t, 1, retryAfter(t, tryLogin(t, s, "admin", apitest.Password, next())), "even the right password waits")
		time.Sleep(1100 * time.Millisecond)
		requireError(t, tryLogin(t, s, "admin", "wrong-password", next()), http.StatusUnauthorized, "invalid_credentials")
		require.Equal(t, 2, retryAfter(t, tryLogin(t, s, "admin", apitest.Password, next())))
		time.Sleep(2100 * time.Millisecond)
		require.Equal(t, http.StatusOK, tryLogin(t, s, "admin", apitest.Password, next()).Status)
		requireError(t, tryLogin(t, s, "admin", "wrong-password", next()), http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestSetupTokenGuessing: setup counts attempts per address with the login lockout's limit.
func TestSetupTokenGuessing(t *testing.T) {
	t.Parallel()
	onEachEngine(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}, func(t *testing.T, s *apitest.Server) {
		guess := func(token string, opts ...reqOpt) *apitest.Response {
			return send(t, s, http.MethodPost, "/api/v1/setup", setupBody(map[string]any{"setup_token": token}), opts...)
		}
		for i := range 5 {
			requireError(t, guess(fmt.Sprintf("guess-%02d-0123456789", i)), http.StatusForbidden, "bad_setup_token")
		}
		requireRateLimited(t, guess(apitest.SetupToken))
		require.Equal(t, http.StatusCreated, guess(apitest.SetupToken, from("203.0.113.8")).Status)
	})
}
