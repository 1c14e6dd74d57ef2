package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

// latestEvent returns the newest audit event.
func latestEvent(t *testing.T, admin *apitest.Client) auditEvent {
	t.Helper()
	p := auditQuery(t, admin, url.Values{"limit": {"1"}})
	require.Len(t, p.Items, 1)
	return p.Items[0]
}

func TestAuditRecordsEveryChange(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	grantPlatform(t, admin, newUser(t, admin, "viewer"), "viewer")
	viewer := s.Login("viewer", apitest.Password)
	victim := newUser(t, admin, "victim")
	users := "/api/v1/users"
	cases := []struct {
		name                  string
		do                    func(t *testing.T) *apitest.Response
		user, action, resType string
		result                string
		status                int
	}{
		{"create", func(t *testing.T) *apitest.Response {
			return admin.For(t).Do(http.MethodPost, users, map[string]any{"username": "alice", "password": apitest.Password})
		}, "admin", "create", "user", "success", 201},
		{"create duplicate", func(t *testing.T) *apitest.Response {
			return admin.For(t).Do(http.MethodPost, users, map[string]any{"username": "alice", "password": apitest.Password})
		}, "admin", "create", "user", "failure", 409},
		{"malformed body", func(t *testing.T) *apitest.Response { return admin.For(t).Do(http.MethodPost, users, `{"username":`) },
			"admin", "create", "user", "failure", 400},
		{"oversize body", func(t *testing.T) *apitest.Response {
			return admin.For(t).Do(http.MethodPost, users, bytes.Repeat([]byte(" "), 2<<20))
		}, "admin", "create", "user", "failure", 413},
		{"anonymous write", func(t *testing.T) *apitest.Response {
			return s.Anonymous().For(t).Do(http.MethodPost, users, map[string]any{"username": "x"})
		}, "", "create", "user", "failure", 401},
		{"update", func(t *testing.T) *apitest.Response {
			return admin.For(t).Do(http.MethodPut, apitest.Path("%s/%d", users, victim), map[string]any{"display_name": "V"})
		}, "admin", "update", "user", "success", 200},
		{"delete missing", func(t *testing.T) *apitest.Response {
			return admin.For(t).Do(http.MethodDelete, users+"/424242", nil)
		}, "admin", "delete", "user", "failure", 404},
		{"denied read", func(t *testing.T) *apitest.Response { return viewer.For(t).Do(http.MethodGet, "/api/v1/secrets", nil) },
			"viewer", "read", "secrets", "failure", 403},
		{"denied write", func(t *testing.T) *apitest.Response {
			return viewer.For(t).Do(http.MethodPost, "/api/v1/secrets", map[string]any{"name": "n", "type": "token", "token": "t"})
		}, "viewer", "create", "secret", "failure", 403},
		{"failed login", func(t *testing.T) *apitest.Response {
			return s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "ghost", "password": "wrong-password"})
		}, "ghost", "login", "session", "failure", 401},
		{"login", func(t *testing.T) *apitest.Response {
			return s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "victim", "password": apitest.Password})
		}, "victim", "login", "session", "success", 200},
		{"logout", func(t *testing.T) *apitest.Response {
			return s.For(t).Login("alice", apitest.Password).Do(http.MethodPost, "/api/v1/auth/logout", nil)
		},
			"alice", "logout", "session", "success", 204},
		{"second setup", func(t *testing.T) *apitest.Response {
			return s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/setup", setupBody(nil))
		}, "root", "setup", "user", "failure", 409},
		{"token", func(t *testing.T) *apitest.Response {
			return viewer.For(t).Do(http.MethodPost, "/api/v1/tokens", map[string]any{"name": "mine"})
		}, "viewer", "create", "api_token", "success", 201},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do(t)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			e := latestEvent(t, admin.For(t))
			require.Equal(t, tc.user, e.Username)
			require.Equal(t, tc.action, e.Action)
			require.Equal(t, tc.resType, e.ResourceType)
			require.Equal(t, tc.result, e.Result)
			require.Equal(t, tc.status, e.StatusCode)
			require.Equal(t, "127.0.0.1", e.IP)
		})
	}
	t.Run("reads are not recorded", func(t *testing.T) {
		before := latestEvent(t, admin.For(t))
		admin.For(t).Expect(http.StatusOK, http.MethodGet, users, nil)
		viewer.For(t).Expect(http.StatusOK, http.MethodGet, users, nil)
		require.Equal(t, before, latestEvent(t, admin.For(t)))
	})
}

func TestAuditQueries(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	start := time.Now().Add(-time.Second).UTC()
	admin := s.Admin()
	for _, name := range []string{"u1", "u2", "u3"} {
		newUser(t, admin, name)
	}
	admin.Expect(http.StatusConflict, http.MethodPost, "/api/v1/users", map[string]any{"username": "u1", "password": apitest.Password})
	for i := 0; i < 2; i++ {
		s.Anonymous().Expect(http.StatusUnauthorized, http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "ghost", "password": "wrong-password"})
	}
	admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets", map[string]any{"name": "s1", "type": "token", "token": "t"})
	total := auditQuery(t, admin, url.Values{}).Total
	require.EqualValues(t, 9, total, "setup, admin login, 3 users, a duplicate, 2 failed logins, a secret")
	future, past := time.Now().Add(time.Hour).UTC().Format(time.RFC3339), start.Add(-time.Hour).Format(time.RFC3339)

	cases := []struct {
		query url.Values
		count int
		each  func(e auditEvent) bool
	}{
		{url.Values{"username": {"ghost"}}, 2, func(e auditEvent) bool { return e.Username == "ghost" && e.Result == "failure" }},
		{url.Values{"action": {"login"}, "result": {"failure"}}, 2, func(e auditEvent) bool { return e.Action == "login" }},
		{url.Values{"action": {"login"}, "result": {"success"}}, 1, func(e auditEvent) bool { return e.Username == "admin" }},
		{url.Values{"resource_type": {"user"}}, 5, func(e auditEvent) bool { return e.ResourceType == "user" }},
		{url.Values{"resource_type": {"user"}, "result": {"failure"}}, 1, func(e auditEvent) bool { return e.StatusCode == 409 }},
		{url.Values{"result": {"failure"}}, 3, func(e auditEvent) bool { return e.Result == "failure" }},
		{url.Values{"username": {"admin"}, "action": {"create"}, "resource_type": {"secret"}}, 1, func(e auditEvent) bool { return e.ResourceName == "s1" }},
		{url.Values{"since": {start.Format(time.RFC3339)}}, int(total), nil},
		{url.Values{"since": {future}}, 0, nil},
		{url.Values{"until": {past}}, 0, nil},
		{url.Values{"since": {past}, "until": {future}}, int(total), nil},
		{url.Values{"q": {"u2"}}, 1, func(e auditEvent) bool { return e.ResourceName == "u2" }},
		{url.Values{"username": {"nobody"}}, 0, nil},
		{url.Values{"scope": {"platform"}, "scope_id": {"0"}}, int(total), func(e auditEvent) bool { return true }},
	}
	for _, tc := range cases {
		t.Run(tc.query.Encode(), func(t *testing.T) {
			p := auditQuery(t, admin.For(t), tc.query)
			require.Len(t, p.Items, tc.count)
			require.EqualValues(t, tc.count, p.Total)
			for _, e := range p.Items {
				if tc.each != nil {
					require.True(t, tc.each(e), "%+v", e)
				}
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		for _, sort := range []string{"", "time", "-id", "id"} {
			seen := map[int64]bool{}
			q := url.Values{"limit": {"3"}}
			if sort != "" {
				q.Set("sort", sort)
			}
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				p := auditQuery(t, admin.For(t), q)
				require.EqualValues(t, total, p.Total)
				require.LessOrEqual(t, len(p.Items), 3)
				for _, e := range p.Items {
					require.False(t, seen[e.ID], "event %d seen twice", e.ID)
					seen[e.ID] = true
				}
				if p.Continue == "" {
					break
				}
				q.Set("continue", p.Continue)
			}
			require.Len(t, seen, int(total), "sort %q", sort)
		}
	})
}

// TestAuditNeverHoldsSecrets searches every column of the audit table, and the API's view of
// it, for the secrets sent in requests.
func TestAuditNeverHoldsSecrets(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	const password, token, newPassword = "P@ss-unique-123", "tok-unique-456", "P@ss-unique-789"
	id := newUser(t, admin, "carol", map[string]any{"password": password})
	admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets", map[string]any{"name": "api", "type": "token", "token": token})
	admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/image-registries", map[string]any{"registry": "r.example.com", "password": token + "-reg"})
	carol := s.Login("carol", password)
	s.Anonymous().Expect(http.StatusUnauthorized, http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "carol", "password": password + "x"})
	carol.Expect(http.StatusBadRequest, http.MethodPut, "/api/v1/users/me/password", map[string]any{"old_password": password + "?", "new_password": newPassword})
	carol.Expect(http.StatusNoContent, http.MethodPut, "/api/v1/users/me/password", map[string]any{"old_password": password, "new_password": newPassword})
	admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/users/%d", id), map[string]any{"password": password})
	// Malformed bodies are not parsed, so they are not redacted field by field either.
	admin.Expect(http.StatusBadRequest, http.MethodPost, "/api/v1/secrets", `{"name":"x","type":"token","token":"`+token+`"`)
	admin.Expect(http.StatusBadRequest, http.MethodPost, "/api/v1/secrets", `{"name":"x","type":"token","token":"`+token+`"} trailing`)
	admin.Expect(http.StatusBadRequest, http.MethodPut, "/api/v1/users/me/password", `{"old_password":5,"new_password":"`+newPassword+`"}`)

	secrets := []string{password, token, newPassword}
	p := auditQuery(t, admin, url.Values{"limit": {"1000"}})
	require.GreaterOrEqual(t, len(p.Items), 10)
	list := admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?limit=1000", nil)
	for _, sec := range secrets {
		require.NotContains(t, string(list.Body), sec)
		require.EqualValues(t, 0, auditQuery(t, admin, url.Values{"q": {sec}}).Total)
	}
	require.Contains(t, string(list.Body), "[REDACTED]", "summaries are kept, redacted")
	rows := rawRows(t, rawDatabase(t, s))
	require.NotEmpty(t, rows["audit_events"])
	for _, col := range rows["audit_events"] {
		for _, sec := range secrets {
			for _, enc := range encodings(sec) {
				require.False(t, bytes.Contains(col, []byte(enc)), "audit row holds %q: %s", enc, col)
			}
		}
	}
}

// TestAuditKeepsOversizedInput: values longer than their column or not valid UTF-8 (a long
// username in a failed login, a long or binary path, a binary User-Agent) neither fail the request
// nor cost the audit record, on every engine (MySQL refuses what does not fit).
func TestAuditKeepsOversizedInput(t *testing.T) {
	t.Parallel()
	onEachEngine(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"}, func(t *testing.T, s *apitest.Server) {
		admin := s.Admin()
		long := strings.Repeat("a", 63) + "é" + strings.Repeat("b", 300)
		cases := []struct {
			name string
			do   func(t *testing.T) *apitest.Response
		}{
			{"long login username", func(t *testing.T) *apitest.Response {
				return s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/auth/login", map[string]any{"username": long, "password": "wrong-password"})
			}},
			{"long new username", func(t *testing.T) *apitest.Response {
				return admin.For(t).Do(http.MethodPost, "/api/v1/users", map[string]any{"username": long, "password": apitest.Password})
			}},
			{"long path id", func(t *testing.T) *apitest.Response {
				return admin.For(t).Do(http.MethodDelete, "/api/v1/users/"+strings.Repeat("9", 600), nil)
			}},
			{"path with broken UTF-8", func(t *testing.T) *apitest.Response {
				return admin.For(t).Do(http.MethodDelete, "/api/v1/users/%ff%fe", nil)
			}},
			{"long setup username", func(t *testing.T) *apitest.Response {
				return s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/setup", setupBody(map[string]any{"username": long}))
			}},
		}
		t.Run("login with a binary User-Agent", func(t *testing.T) {
			r := send(t, s, http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "admin", "password": apitest.Password},
				withHeader("User-Agent", "agent \xff\xfe"+strings.Repeat("é", 200)))
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := auditQuery(t, admin.For(t), url.Values{}).Total
				r := tc.do(t)
				require.Less(t, r.Status, 500, "%s", r.Body)
				errorOf(t, r)
				require.Equal(t, before+1, auditQuery(t, admin.For(t), url.Values{}).Total, "the attempt was recorded")
				e := latestEvent(t, admin.For(t))
				require.Equal(t, "failure", e.Result)
				require.LessOrEqual(t, len(e.Username), 64)
				require.LessOrEqual(t, len(e.ResourceID), 64)
				require.LessOrEqual(t, len([]rune(e.ResourceName)), 255)
			})
		}
	})
}
