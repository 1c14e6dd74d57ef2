package httpapi_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/identity"
)

func setupBody(overrides map[string]any, drop ...string) map[string]any {
	b := map[string]any{"username": "root", "password": "root-password-1", "email": "root@example.com",
		"setup_token": apitest.SetupToken}
	maps.Copy(b, overrides)
	for _, k := range drop {
		delete(b, k)
	}
	return b
}

func TestSetup(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	anon := s.Anonymous()
	needed := func(t *testing.T) bool {
		var st struct {
			Needed bool `json:"needed"`
		}
		anon.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/setup", nil).JSON(t, &st)
		return st.Needed
	}
	require.True(t, needed(t))

	invalid := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"short password", setupBody(map[string]any{"password": "short"}), "password"},
		{"password over 72 bytes", setupBody(map[string]any{"password": strings.Repeat("p", 73)}), "password"},
		{"username with a space", setupBody(map[string]any{"username": "bad name"}), "username"},
		{"username too short", setupBody(map[string]any{"username": "r"}), "username"},
		{"missing email", setupBody(nil, "email"), "email"},
		{"malformed email", setupBody(map[string]any{"email": "not-an-address"}), "email"},
		{"missing setup token", setupBody(nil, "setup_token"), "setup_token"},
	}
	for _, tc := range invalid {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			requireField(t, anon.For(t).Do(http.MethodPost, "/api/v1/setup", tc.body), tc.field)
			require.True(t, needed(t), "a refused setup creates nobody")
		})
	}
	t.Run("wrong setup token", func(t *testing.T) {
		r := anon.For(t).Do(http.MethodPost, "/api/v1/setup", setupBody(map[string]any{"setup_token": "wrong-token-0123456789"}))
		requireError(t, r, http.StatusForbidden, "bad_setup_token")
		require.True(t, needed(t), "nothing was created")
		requireError(t, anon.For(t).Do(http.MethodPost, "/api/v1/auth/login",
			map[string]any{"username": "root", "password": "root-password-1"}), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("setup creates a super admin", func(t *testing.T) {
		r := anon.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/setup", setupBody(nil))
		u := r.Map(t)
		require.Equal(t, true, u["is_super"])
		require.NotContains(t, string(r.Body), "root-password-1")
		require.False(t, needed(t))
	})
	t.Run("second setup is refused", func(t *testing.T) {
		r := anon.For(t).Do(http.MethodPost, "/api/v1/setup", setupBody(map[string]any{"username": "intruder"}))
		requireError(t, r, http.StatusConflict, "setup_done")
		requireError(t, anon.For(t).Do(http.MethodPost, "/api/v1/auth/login",
			map[string]any{"username": "intruder", "password": "root-password-1"}), http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestSetupOnceAcrossReplicas: concurrent setups through two servers on one database create
// one super admin.
func TestSetupOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	env := mysqlEnv(t)
	env["LOGIN_MAX_FAILURES"] = "100" // setup attempts from one address are limited like logins
	replicas := []*apitest.Server{apitest.Start(t, env), apitest.Start(t, env)}
	statuses := make(chan int, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := send(t, replicas[i%2], http.MethodPost, "/api/v1/setup", setupBody(map[string]any{"username": fmt.Sprintf("root-%d", i)}))
			statuses <- r.Status
		}()
	}
	wg.Wait()
	close(statuses)
	created := 0
	for st := range statuses {
		require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, st)
		if st == http.StatusCreated {
			created++
		}
	}
	require.Equal(t, 1, created)
	n, err := replicas[0].App.Store.Users.Count(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func TestLoginSessionAndLogout(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	newUser(t, admin, "bob")

	t.Run("bad credentials do not tell which usernames exist", func(t *testing.T) {
		wrong := requireError(t, s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/auth/login",
			map[string]any{"username": "bob", "password": "not-the-password"}), http.StatusUnauthorized, "invalid_credentials")
		unknown := requireError(t, s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/auth/login",
			map[string]any{"username": "nobody-here", "password": "not-the-password"}), http.StatusUnauthorized, "invalid_credentials")
		require.Equal(t, wrong, unknown)
	})
	t.Run("cookie and bearer, then logout", func(t *testing.T) {
		r := send(t, s, http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "bob", "password": apitest.Password})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var out struct {
			Token     string    `json:"token"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		r.JSON(t, &out)
		require.True(t, strings.HasPrefix(out.Token, "kss_"), out.Token)
		require.True(t, out.ExpiresAt.After(time.Now()))
		cookies := (&http.Response{Header: r.Header}).Cookies()
		require.Len(t, cookies, 1)
		ck := cookies[0]
		require.Equal(t, "kubespace_session", ck.Name)
		require.Equal(t, out.Token, ck.Value)
		require.True(t, ck.HttpOnly, "HttpOnly")
		require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
		require.Equal(t, "/", ck.Path)
		require.Positive(t, ck.MaxAge)

		me := send(t, s, http.MethodGet, "/api/v1/users/me", nil, withCookie(ck.Value))
		require.Equal(t, http.StatusOK, me.Status, "%s", me.Body)
		require.Equal(t, "bob", me.Map(t)["username"])
		require.Equal(t, http.StatusOK, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(out.Token)).Status)

		lo := send(t, s, http.MethodPost, "/api/v1/auth/logout", nil, withBearer(out.Token))
		require.Equal(t, http.StatusNoContent, lo.Status, "%s", lo.Body)
		cleared := (&http.Response{Header: lo.Header}).Cookies()
		require.Len(t, cleared, 1)
		require.Negative(t, cleared[0].MaxAge, "logout clears the cookie")
		requireError(t, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(out.Token)), http.StatusUnauthorized, "")
		requireError(t, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withCookie(out.Token)), http.StatusUnauthorized, "")
	})
	t.Run("malformed credentials", func(t *testing.T) {
		for _, h := range []string{"Basic Ym9iOnB3", "Bearer", "Bearer ", "Bearer kss_forged", "Bearer ksp_forged", "Bearer something-else"} {
			r := send(t, s, http.MethodGet, "/api/v1/users/me", nil, withHeader("Authorization", h))
			requireError(t, r, http.StatusUnauthorized, "")
		}
	})
}

// credential is a user's live session and API token.
type credential struct {
	id             int64
	session, token string
}

func credentialsOf(t *testing.T, s *apitest.Server, id int64, username string) credential {
	c := s.For(t).Login(username, apitest.Password)
	tok := c.Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "cli"}).Map(t)["token"].(string)
	cr := credential{id: id, session: c.Token, token: tok}
	requireWorks(t, s, cr, true)
	return cr
}

func requireWorks(t *testing.T, s *apitest.Server, cr credential, works bool) {
	t.Helper()
	for _, tok := range []string{cr.session, cr.token} {
		r := send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(tok))
		if works {
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		} else {
			requireError(t, r, http.StatusUnauthorized, "")
		}
	}
}

func TestCredentialsAreRevoked(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	const newPassword = "brand-new-password-9"
	cases := []struct {
		name   string
		act    func(t *testing.T, cr credential) *apitest.Response
		status int
		// password is what logs the user in afterwards ("" when nothing does).
		password, loginCode string
	}{
		{"disable", func(t *testing.T, cr credential) *apitest.Response {
			return admin.For(t).Do(http.MethodPut, apitest.Path("/api/v1/users/%d", cr.id), map[string]any{"status": "disabled"})
		}, http.StatusOK, "", "user_disabled"},
		{"delete", func(t *testing.T, cr credential) *apitest.Response {
			return admin.For(t).Do(http.MethodDelete, apitest.Path("/api/v1/users/%d", cr.id), nil)
		}, http.StatusNoContent, "", "invalid_credentials"},
		{"admin sets the password", func(t *testing.T, cr credential) *apitest.Response {
			return admin.For(t).Do(http.MethodPut, apitest.Path("/api/v1/users/%d", cr.id), map[string]any{"password": newPassword})
		}, http.StatusOK, newPassword, "invalid_credentials"},
		{"own password change", func(t *testing.T, cr credential) *apitest.Response {
			return send(t, s, http.MethodPut, "/api/v1/users/me/password",
				map[string]any{"old_password": apitest.Password, "new_password": newPassword}, withBearer(cr.session))
		}, http.StatusNoContent, newPassword, "invalid_credentials"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("revoked-%d", i)
			cr := credentialsOf(t, s, newUser(t, admin.For(t), name), name)
			r := tc.act(t, cr)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			requireWorks(t, s, cr, false)
			old := s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/auth/login", map[string]any{"username": name, "password": apitest.Password})
			requireError(t, old, http.StatusUnauthorized, tc.loginCode)
			if tc.password != "" {
				s.For(t).Login(name, tc.password)
			}
		})
	}
	t.Run("a disabled user's credentials stay dead after re-enabling", func(t *testing.T) {
		t.Parallel()
		cr := credentialsOf(t, s, newUser(t, admin.For(t), "flip"), "flip")
		path := apitest.Path("/api/v1/users/%d", cr.id)
		admin.For(t).Expect(http.StatusOK, http.MethodPut, path, map[string]any{"status": "disabled"})
		requireWorks(t, s, cr, false)
		admin.For(t).Expect(http.StatusOK, http.MethodPut, path, map[string]any{"status": "active"})
		requireWorks(t, s, cr, false)
		s.For(t).Login("flip", apitest.Password)
	})
	t.Run("own password change needs the old password", func(t *testing.T) {
		t.Parallel()
		cr := credentialsOf(t, s, newUser(t, admin.For(t), "forgetful"), "forgetful")
		r := send(t, s, http.MethodPut, "/api/v1/users/me/password",
			map[string]any{"old_password": "not-my-password", "new_password": newPassword}, withBearer(cr.session))
		requireField(t, r, "old_password")
		requireWorks(t, s, cr, true)
		r = send(t, s, http.MethodPut, "/api/v1/users/me/password",
			map[string]any{"old_password": apitest.Password, "new_password": "short"}, withBearer(cr.session))
		requireField(t, r, "new_password")
		requireWorks(t, s, cr, true)
	})
}

func TestSuperAdminRules(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	path := func(id int64) string { return apitest.Path("/api/v1/users/%d", id) }

	t.Run("the last active super admin stays", func(t *testing.T) {
		for _, change := range []map[string]any{{"is_super": false}, {"status": "disabled"}} {
			requireError(t, admin.For(t).Do(http.MethodPut, path(admin.UserID), change), http.StatusUnprocessableEntity, "last_super_admin")
		}
		requireError(t, admin.For(t).Do(http.MethodDelete, path(admin.UserID), nil), http.StatusUnprocessableEntity, "last_super_admin")
		admin.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/users/me", nil)
	})
	t.Run("with two super admins one can be demoted", func(t *testing.T) {
		second := newUser(t, admin.For(t), "second-super", map[string]any{"is_super": true})
		r := admin.For(t).Expect(http.StatusOK, http.MethodPut, path(second), map[string]any{"is_super": false})
		require.Equal(t, false, r.Map(t)["is_super"])
		requireError(t, admin.For(t).Do(http.MethodPut, path(admin.UserID), map[string]any{"is_super": false}),
			http.StatusUnprocessableEntity, "last_super_admin")
		admin.For(t).Expect(http.StatusOK, http.MethodPut, path(second), map[string]any{"is_super": true})
		admin.For(t).Expect(http.StatusOK, http.MethodPut, path(admin.UserID), map[string]any{"is_super": false})
		// The demotion ended admin's sessions: the other super admin restores the original state.
		other := s.For(t).Login("second-super", apitest.Password)
		other.Expect(http.StatusOK, http.MethodPut, path(admin.UserID), map[string]any{"is_super": true})
		admin = s.For(t).Login("admin", apitest.Password)
		admin.Expect(http.StatusNoContent, http.MethodDelete, path(second), nil)
	})
	t.Run("only super admins touch super admins", func(t *testing.T) {
		padminID := newUser(t, admin.For(t), "padmin")
		grantPlatform(t, admin.For(t), padminID, "admin")
		padmin := s.For(t).Login("padmin", apitest.Password)
		plain := newUser(t, padmin, "made-by-padmin")
		cases := []struct {
			name         string
			method, path string
			body         any
		}{
			{"create a super admin", http.MethodPost, "/api/v1/users", map[string]any{"username": "wannabe", "password": apitest.Password, "is_super": true}},
			{"rename a super admin", http.MethodPut, path(admin.UserID), map[string]any{"display_name": "Mallory"}},
			{"set a super admin's password", http.MethodPut, path(admin.UserID), map[string]any{"password": "taken-over-123"}},
			{"disable a super admin", http.MethodPut, path(admin.UserID), map[string]any{"status": "disabled"}},
			{"promote a user", http.MethodPut, path(plain), map[string]any{"is_super": true}},
			{"promote themselves", http.MethodPut, path(padminID), map[string]any{"is_super": true}},
			{"delete a super admin", http.MethodDelete, path(admin.UserID), nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				requireError(t, padmin.For(t).Do(tc.method, tc.path, tc.body), http.StatusForbidden, "")
			})
		}
		admin.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/users/me", nil)
		padmin.For(t).Expect(http.StatusOK, http.MethodPut, path(plain), map[string]any{"display_name": "Plain"})
		padmin.For(t).Expect(http.StatusNoContent, http.MethodDelete, path(plain), nil)
	})
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	newUser(t, admin, "bob")
	newUser(t, admin, "eve")
	bob, eve := s.Login("bob", apitest.Password), s.Login("eve", apitest.Password)
	create := func(t *testing.T, c *apitest.Client, body map[string]any) (id int64, secret string) {
		r := c.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens", body)
		m := r.Map(t)
		secret, _ = m["token"].(string)
		require.True(t, strings.HasPrefix(secret, "ksp_"), "%s", r.Body)
		return r.ID(t), secret
	}

	t.Run("the secret is shown once and works as a bearer", func(t *testing.T) {
		id, secret := create(t, bob, map[string]any{"name": "ci"})
		list := bob.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil)
		require.NotContains(t, string(list.Body), secret)
		var page struct {
			Items []map[string]any `json:"items"`
		}
		list.JSON(t, &page)
		require.NotEmpty(t, page.Items)
		for _, it := range page.Items {
			require.NotContains(t, it, "token")
			require.NotContains(t, it, "token_hash")
			require.Nil(t, it["last_used_at"])
		}
		me := send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(secret))
		require.Equal(t, http.StatusOK, me.Status)
		require.Equal(t, "bob", me.Map(t)["username"])
		bob.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil).JSON(t, &page)
		for _, it := range page.Items {
			if int64(it["id"].(float64)) == id {
				require.NotNil(t, it["last_used_at"], "last_used_at is set by use")
			}
		}
	})
	t.Run("revoked tokens stop working", func(t *testing.T) {
		id, secret := create(t, bob, map[string]any{"name": "short-lived"})
		requireError(t, eve.For(t).Do(http.MethodDelete, apitest.Path("/api/v1/tokens/%d", id), nil), http.StatusNotFound, "")
		require.Equal(t, http.StatusOK, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(secret)).Status,
			"another user's DELETE changed nothing")
		bob.For(t).Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/tokens/%d", id), nil)
		requireError(t, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(secret)), http.StatusUnauthorized, "")
		requireError(t, bob.For(t).Do(http.MethodDelete, apitest.Path("/api/v1/tokens/%d", id), nil), http.StatusNotFound, "")
	})
	t.Run("expiry", func(t *testing.T) {
		// The last one is in the year 10000 in UTC: no response could show it.
		for _, past := range []string{"2001-01-01T00:00:00Z", time.Now().Add(-time.Second).UTC().Format(time.RFC3339), "9999-12-31T23:00:00-05:00"} {
			requireField(t, bob.For(t).Do(http.MethodPost, "/api/v1/tokens", map[string]any{"name": "old", "expires_at": past}), "expires_at")
		}
		requireField(t, bob.For(t).Do(http.MethodPost, "/api/v1/tokens", map[string]any{"name": "x", "expires_at": "tomorrow"}), "expires_at")
		expires := time.Now().Add(2 * time.Second)
		_, secret := create(t, bob, map[string]any{"name": "soon", "expires_at": expires.Format(time.RFC3339Nano)})
		if time.Until(expires) > 500*time.Millisecond { // not when the machine stalled past the expiry
			require.Equal(t, http.StatusOK, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(secret)).Status)
		}
		time.Sleep(time.Until(expires) + 200*time.Millisecond)
		requireError(t, send(t, s, http.MethodGet, "/api/v1/users/me", nil, withBearer(secret)), http.StatusUnauthorized, "token_expired")
	})
	t.Run("names are validated", func(t *testing.T) {
		for _, name := range []string{"", "   ", strings.Repeat("n", 129)} {
			requireField(t, bob.For(t).Do(http.MethodPost, "/api/v1/tokens", map[string]any{"name": name}), "name")
		}
	})
}

// TestUserDirectoryPrivacy: full user records are for platform roles (and each user's own);
// the picker shows id, username and display name to admins of any scope, and nothing to others.
func TestUserDirectoryPrivacy(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	cluster := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/clusters", map[string]any{"name": "c1"}).ID(t)
	plain := s.User(admin, "plain", "", 0, "")
	viewer := s.User(admin, "pviewer", "platform", 0, "viewer")
	padmin := s.User(admin, "padmin", "platform", 0, "admin")
	cadmin := s.User(admin, "cadmin", "cluster", cluster, "admin")
	ceditor := s.User(admin, "ceditor", "cluster", cluster, "editor")
	newUser(t, admin, "alice", map[string]any{"display_name": "Alice Smith", "email": "alice@corp.example"})
	u, err := s.App.Store.Users.Get(context.Background(), cadmin.UserID)
	require.NoError(t, err)
	limited, err := s.App.Identity.CreateToken(context.Background(), &access.Principal{User: u}, identity.CreateTokenInput{Name: "kubeconfig"}, cluster)
	require.NoError(t, err)
	clusterToken := &apitest.Client{S: s, Token: limited.Token, Name: "cluster-limited token"}

	user := func(id int64) string { return apitest.Path("/api/v1/users/%d", id) }
	cases := []struct {
		name   string
		c      *apitest.Client
		path   string
		status int
	}{
		{"no role lists users", plain, "/api/v1/users", http.StatusForbidden},
		{"no role reads another user", plain, user(admin.UserID), http.StatusForbidden},
		{"no role reads a missing user", plain, user(999999), http.StatusForbidden},
		{"no role reads themselves", plain, user(plain.UserID), http.StatusOK},
		{"no role reads me", plain, "/api/v1/users/me", http.StatusOK},
		{"no role picks", plain, "/api/v1/users/picker", http.StatusForbidden},
		{"cluster editor picks", ceditor, "/api/v1/users/picker", http.StatusForbidden},
		{"cluster admin lists users", cadmin, "/api/v1/users", http.StatusForbidden},
		{"cluster admin reads another user", cadmin, user(plain.UserID), http.StatusForbidden},
		{"cluster admin picks", cadmin, "/api/v1/users/picker", http.StatusOK},
		{"cluster-limited token picks", clusterToken, "/api/v1/users/picker", http.StatusForbidden},
		{"platform viewer lists users", viewer, "/api/v1/users", http.StatusOK},
		{"platform viewer reads another user", viewer, user(admin.UserID), http.StatusOK},
		{"platform viewer reads a missing user", viewer, user(999999), http.StatusNotFound},
		{"platform viewer picks", viewer, "/api/v1/users/picker", http.StatusForbidden},
		{"platform admin picks", padmin, "/api/v1/users/picker", http.StatusOK},
		{"super admin picks", admin, "/api/v1/users/picker", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.For(t).Do(http.MethodGet, tc.path, nil)
			if tc.status >= 400 {
				requireError(t, r, tc.status, "")
				require.NotContains(t, string(r.Body), "@", "a refusal shows no email")
				return
			}
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
		})
	}

	pick := func(t *testing.T, c *apitest.Client, query string) []map[string]any {
		var out struct {
			Items []map[string]any `json:"items"`
		}
		c.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/users/picker?"+query, nil).JSON(t, &out)
		return out.Items
	}
	t.Run("the picker shows id, username and display name only", func(t *testing.T) {
		items := pick(t, cadmin, "q=smith")
		require.Len(t, items, 1)
		require.Equal(t, map[string]any{"id": items[0]["id"], "username": "alice", "display_name": "Alice Smith"}, items[0])
		require.Empty(t, pick(t, cadmin, "q=corp.example"), "emails are not searched")
		require.Empty(t, pick(t, cadmin, "q=%40"))
	})
	t.Run("the picker is sorted and limited", func(t *testing.T) {
		names := []any{}
		for _, it := range pick(t, cadmin, "limit=3") {
			names = append(names, it["username"])
		}
		require.Equal(t, []any{"admin", "alice", "cadmin"}, names)
		require.Len(t, pick(t, cadmin, ""), 7, "everyone, within the default limit of 20")
		for _, bad := range []string{"limit=51", "limit=-1", "limit=abc", "q=" + strings.Repeat("x", 129)} {
			requireNames(t, cadmin.For(t).Do(http.MethodGet, "/api/v1/users/picker?"+bad, nil), strings.Split(bad, "=")[0])
		}
		require.Len(t, pick(t, cadmin, "limit=50"), 7)
	})
}

// TestUserAndTokenBodies: the API shows exactly these fields of users and tokens (the shapes
// the console and the OpenAPI document rely on), never a hash.
func TestUserAndTokenBodies(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	userKeys := []string{"created_at", "display_name", "email", "id", "is_super", "last_login_at", "source", "status", "updated_at", "username"}
	tokenKeys := []string{"created_at", "expires_at", "id", "last_used_at", "name", "prefix", "user_id"}
	keys := func(m map[string]any) []string {
		out := slices.Sorted(maps.Keys(m))
		for _, k := range out {
			require.NotContains(t, k, "hash")
		}
		return out
	}
	created := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/users", map[string]any{"username": "bob", "password": apitest.Password}).Map(t)
	require.Equal(t, userKeys, keys(created))
	require.Equal(t, userKeys, keys(admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/users/%d", admin.UserID), nil).Map(t)))
	require.Equal(t, userKeys, keys(admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/users/%v", created["id"]), map[string]any{"display_name": "Bob"}).Map(t)))
	var page struct {
		Items []map[string]any `json:"items"`
	}
	admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/users", nil).JSON(t, &page)
	for _, it := range page.Items {
		require.Equal(t, userKeys, keys(it))
	}
	me := admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/users/me", nil).Map(t)
	require.Equal(t, slices.Sorted(slices.Values(append(slices.Clone(userKeys), "permissions"))), keys(me))
	login := send(t, s, http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "bob", "password": apitest.Password})
	require.Equal(t, http.StatusOK, login.Status, "%s", login.Body)
	require.Equal(t, []string{"expires_at", "token", "user"}, keys(login.Map(t)))
	require.Equal(t, userKeys, keys(login.Map(t)["user"].(map[string]any)))

	tok := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "ci"}).Map(t)
	require.Equal(t, slices.Sorted(slices.Values(append(slices.Clone(tokenKeys), "token"))), keys(tok))
	var tokens struct {
		Items []map[string]any `json:"items"`
	}
	admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil).JSON(t, &tokens)
	require.NotEmpty(t, tokens.Items)
	for _, it := range tokens.Items {
		require.Equal(t, tokenKeys, keys(it))
	}
}
