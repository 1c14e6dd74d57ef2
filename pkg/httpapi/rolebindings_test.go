package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/store"
)

type bindingPage struct {
	Items []struct {
		ID      int64  `json:"id"`
		UserID  int64  `json:"user_id"`
		Scope   string `json:"scope"`
		ScopeID int64  `json:"scope_id"`
		Role    string `json:"role"`
	} `json:"items"`
	Total int64 `json:"total"`
}

func TestRoleBindings(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	admin := s.Admin()
	callers := map[string]*apitest.Client{"super": admin}
	for _, role := range []string{"viewer", "editor", "admin"} {
		id := newUser(t, admin, "p"+role)
		grantPlatform(t, admin, id, role)
		callers[role] = s.Login("p"+role, apitest.Password)
	}
	newUser(t, admin, "outsider")
	callers["outsider"] = s.Login("outsider", apitest.Password)
	seq := 0
	target := func(t *testing.T) int64 {
		seq++
		return newUser(t, admin.For(t), fmt.Sprintf("target-%d", seq))
	}
	body := func(user int64, scope string, scopeID int64, role string) map[string]any {
		return map[string]any{"user_id": user, "scope": scope, "scope_id": scopeID, "role": role}
	}

	grants := []struct {
		name, caller string
		scope        string
		scopeID      int64
		role         string
		status       int
		field        string // for 400s: the field named
	}{
		{"viewer cannot grant", "viewer", "platform", 0, "viewer", http.StatusForbidden, ""},
		{"editor cannot grant", "editor", "platform", 0, "viewer", http.StatusForbidden, ""},
		{"outsider cannot grant", "outsider", "platform", 0, "viewer", http.StatusForbidden, ""},
		{"platform admin grants viewer", "admin", "platform", 0, "viewer", http.StatusCreated, ""},
		{"platform admin grants editor", "admin", "platform", 0, "editor", http.StatusCreated, ""},
		{"platform admin grants admin", "admin", "platform", 0, "admin", http.StatusCreated, ""},
		{"no such cluster", "admin", "cluster", 5, "viewer", http.StatusNotFound, ""},
		{"no such workspace, as super admin", "super", "workspace", 5, "viewer", http.StatusNotFound, ""},
		{"outsider does not learn what exists", "outsider", "cluster", 5, "viewer", http.StatusForbidden, ""},
		{"unknown scope", "admin", "galaxy", 0, "viewer", http.StatusBadRequest, "scope"},
		{"empty scope", "admin", "", 0, "viewer", http.StatusBadRequest, "scope"},
		{"unknown role", "admin", "platform", 0, "god", http.StatusBadRequest, "role"},
		{"platform with an id", "admin", "platform", 3, "viewer", http.StatusBadRequest, "scope_id"},
		{"cluster without an id", "admin", "cluster", 0, "viewer", http.StatusBadRequest, "scope_id"},
		{"cluster with a negative id", "admin", "cluster", -4, "viewer", http.StatusBadRequest, "scope_id"},
	}
	for _, tc := range grants {
		t.Run("grant: "+tc.name, func(t *testing.T) {
			r := callers[tc.caller].For(t).Do(http.MethodPost, "/api/v1/role-bindings", body(target(t), tc.scope, tc.scopeID, tc.role))
			switch {
			case tc.status == http.StatusCreated:
				require.Equal(t, tc.status, r.Status, "%s", r.Body)
				require.Equal(t, tc.role, r.Map(t)["role"])
			case tc.field != "":
				requireField(t, r, tc.field)
			default:
				requireError(t, r, tc.status, "")
			}
		})
	}
	t.Run("grant: no such user", func(t *testing.T) {
		requireError(t, admin.For(t).Do(http.MethodPost, "/api/v1/role-bindings", body(987654, "platform", 0, "viewer")),
			http.StatusUnprocessableEntity, "")
		requireField(t, admin.For(t).Do(http.MethodPost, "/api/v1/role-bindings", body(0, "platform", 0, "viewer")), "user_id")
	})
	t.Run("grant: duplicate", func(t *testing.T) {
		u := target(t)
		admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings", body(u, "platform", 0, "viewer"))
		for _, role := range []string{"viewer", "editor"} {
			requireError(t, admin.For(t).Do(http.MethodPost, "/api/v1/role-bindings", body(u, "platform", 0, role)),
				http.StatusConflict, "binding_exists")
		}
	})
	t.Run("revoke", func(t *testing.T) {
		id := admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings", body(target(t), "platform", 0, "editor")).ID(t)
		path := apitest.Path("/api/v1/role-bindings/%d", id)
		for _, c := range []string{"outsider", "viewer", "editor"} {
			requireError(t, callers[c].For(t).Do(http.MethodDelete, path, nil), http.StatusForbidden, "")
		}
		callers["admin"].For(t).Expect(http.StatusNoContent, http.MethodDelete, path, nil)
		requireError(t, callers["admin"].For(t).Do(http.MethodDelete, path, nil), http.StatusNotFound, "")
		requireError(t, callers["outsider"].For(t).Do(http.MethodDelete, path, nil), http.StatusForbidden, "")
	})
	t.Run("revoked roles stop working at once", func(t *testing.T) {
		u := target(t)
		id := admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings", body(u, "platform", 0, "editor")).ID(t)
		c := s.For(t).Login(fmt.Sprintf("target-%d", seq), apitest.Password)
		c.Expect(http.StatusOK, http.MethodGet, "/api/v1/secrets", nil)
		admin.For(t).Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/role-bindings/%d", id), nil)
		requireError(t, c.Do(http.MethodGet, "/api/v1/secrets", nil), http.StatusForbidden, "")
	})
	t.Run("list by scope", func(t *testing.T) {
		// No cluster exists in this build, so a cluster binding is written to the store directly.
		require.NoError(t, s.App.Store.RoleBindings.Create(context.Background(),
			&store.RoleBinding{UserID: target(t), Scope: "cluster", ScopeID: 7, Role: "admin"}))
		var all, platform bindingPage
		callers["viewer"].For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/role-bindings?limit=1000", nil).JSON(t, &all)
		callers["viewer"].For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/role-bindings?scope=platform&scope_id=0&limit=1000", nil).JSON(t, &platform)
		require.EqualValues(t, len(all.Items), all.Total)
		require.Equal(t, all.Total-1, platform.Total, "everything but the cluster binding")
		for _, b := range platform.Items {
			require.Equal(t, "platform", b.Scope)
		}
		var clusters int
		for _, b := range all.Items {
			if b.Scope == "cluster" {
				clusters++
				require.EqualValues(t, 7, b.ScopeID)
			}
		}
		require.Equal(t, 1, clusters)
		requireError(t, callers["viewer"].For(t).Do(http.MethodGet, "/api/v1/role-bindings?scope=cluster&scope_id=7", nil), http.StatusNotFound, "")
		requireError(t, callers["outsider"].For(t).Do(http.MethodGet, "/api/v1/role-bindings", nil), http.StatusForbidden, "")
		requireNames(t, callers["viewer"].For(t).Do(http.MethodGet, "/api/v1/role-bindings?scope=galaxy", nil), "scope")
		requireNames(t, callers["viewer"].For(t).Do(http.MethodGet, "/api/v1/role-bindings?scope_id=3", nil), "scope")
		requireNames(t, callers["viewer"].For(t).Do(http.MethodGet, "/api/v1/role-bindings?scope=cluster", nil), "scope_id")
	})
}
