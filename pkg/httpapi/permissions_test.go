package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

func routeKey(r *httpapi.Route) string { return r.Method + " " + r.Path }

// tableByRoute indexes permissionTable, failing on duplicate rows.
func tableByRoute(t *testing.T) map[string]permissionRule {
	rules := map[string]permissionRule{}
	for _, rule := range permissionTable {
		if _, dup := rules[rule.route]; dup {
			t.Errorf("permission table: %s has two rows", rule.route)
		}
		rules[rule.route] = rule
	}
	return rules
}

// TestPermissionTable compares every registered route's guard with the hand-written table:
// a route missing from it, a row naming no route, and a guard declaring another requirement
// (a weaker role, another scope, the Kubernetes API flag) all fail.
func TestPermissionTable(t *testing.T) {
	s := apitest.Start(t, nil)
	rules := tableByRoute(t)
	registered := map[string]bool{}
	for _, r := range s.App.API.Routes() {
		key := routeKey(r)
		registered[key] = true
		rule, ok := rules[key]
		if !ok {
			t.Errorf("%s is not in the permission table (permission_rules_test.go): add a row saying who may call it", key)
			continue
		}
		if got, want := r.Guard.Requirement(), rule.need.requirement(); got != want {
			t.Errorf("%s: the guard declares %s, the permission table says %s (%s)", key, describeReq(got), describeReq(want), rule.need)
		}
		if r.KubernetesAPI != rule.need.kubeAPI {
			t.Errorf("%s: the route declares KubernetesAPI=%v, the permission table says %v (%s)", key, r.KubernetesAPI, rule.need.kubeAPI, rule.need)
		}
	}
	for key := range rules {
		if !registered[key] {
			t.Errorf("the permission table names %s, which is no registered route", key)
		}
	}
}

func describeReq(r httpapi.Requirement) string {
	switch {
	case r.Public:
		return "public"
	case r.ScopeFrom == "":
		return fmt.Sprintf("signed-in (role %s)", r.Role)
	}
	return fmt.Sprintf("%s in the %s scope", r.Role, r.ScopeFrom)
}

// TestPermissionMatrix calls every route as every persona and expects what the permission
// table says: allowed callers get the table's success status for the example input (the
// handler ran), denied ones exactly 403, callers without valid credentials 401, and a
// cluster-limited token outside the Kubernetes API 403 token_limited.
func TestPermissionMatrix(t *testing.T) {
	w := newPermWorld(t)
	target := w.cluster(t)
	cached := map[string]*caller{}
	for _, p := range personas {
		cached[p.name] = w.build(t, p, target)
	}
	rules := tableByRoute(t)
	for _, r := range w.s.App.API.Routes() {
		key := routeKey(r)
		rule, ok := rules[key]
		if !ok {
			t.Errorf("%s is not in the permission table (permission_rules_test.go)", key)
			continue
		}
		for _, p := range personas {
			t.Run(key+" as "+p.name, func(t *testing.T) {
				tgt, c := target, cached[p.name]
				if freshWorld[key] {
					tgt = w.cluster(t)
					c = w.build(t, p, tgt)
				}
				path := w.path(t, r, c, tgt)
				body, query := w.input(t, key, r, c, tgt)
				method := r.Method
				if method == httpapi.MethodAny {
					method = http.MethodGet
				}
				resp := c.cred.For(t).Do(method, httpapi.Prefix+path+query, body)
				want := rule.need.expect(p)
				msg := fmt.Sprintf("%s %s as %s: the permission table says %s (%s); got %d: %.300s",
					method, path, p.name, want, rule.need, resp.Status, resp.Body)
				switch want {
				case allowed:
					require.Equal(t, rule.ok, resp.Status, msg)
				case unauthenticated:
					require.Equal(t, http.StatusUnauthorized, resp.Status, msg)
				case forbidden:
					require.Equal(t, http.StatusForbidden, resp.Status, msg)
				case tokenLimited:
					require.Equal(t, http.StatusForbidden, resp.Status, msg)
					require.Equal(t, "token_limited", errorCode(resp.Body), msg)
					require.Contains(t, string(resp.Body), fmt.Sprintf("limited to the Kubernetes API of cluster %d", tgt), msg)
				}
			})
		}
	}
}

// A token minted with a kubeconfig reaches the Kubernetes API of its cluster and nothing else
// — not the role bindings, audit or settings of that same cluster, not another cluster where
// its user is admin too — and the refusal says why.
func TestPermissionClusterLimitedToken(t *testing.T) {
	w := newPermWorld(t)
	mine, elsewhere := w.cluster(t), w.cluster(t)
	c := w.build(t, persona{name: "limited", target: access.Admin, limited: true}, mine)
	w.grant(t, c.cred.UserID, "cluster", elsewhere, access.Admin)
	grantee, _ := w.user(t, false)
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, fmt.Sprintf("/role-bindings?scope=cluster&scope_id=%d", mine), nil},
		{http.MethodPost, "/role-bindings", map[string]any{"user_id": grantee, "scope": "cluster", "scope_id": mine, "role": "admin"}},
		{http.MethodGet, fmt.Sprintf("/audit-events?scope=cluster&scope_id=%d", mine), nil},
		{http.MethodGet, fmt.Sprintf("/clusters/%d", mine), nil},
		{http.MethodPut, fmt.Sprintf("/clusters/%d", mine), map[string]any{"description": "taken"}},
		{http.MethodPost, fmt.Sprintf("/clusters/%d/kubeconfig", mine), map[string]any{}},
		{http.MethodDelete, fmt.Sprintf("/clusters/%d", mine), nil},
		{http.MethodGet, "/clusters", nil},
		{http.MethodPost, "/tokens", map[string]any{"name": "more"}},
		{http.MethodGet, fmt.Sprintf("/clusters/%d/kinds", elsewhere), nil},
		{http.MethodGet, fmt.Sprintf("/clusters/%d/proxy/api/v1/namespaces", elsewhere), nil},
	} {
		r := c.cred.For(t).Do(call.method, httpapi.Prefix+call.path, call.body)
		require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", call.method, call.path, r.Body)
		require.Contains(t, string(r.Body), fmt.Sprintf("this API token is limited to the Kubernetes API of cluster %d", mine),
			"%s %s", call.method, call.path)
	}
	// Nothing was granted, changed or minted.
	var l struct {
		Total int `json:"total"`
	}
	w.admin.Expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/v1/role-bindings?scope=cluster&scope_id=%d", mine), nil).JSON(t, &l)
	require.Equal(t, 1, l.Total, "only the token owner's own binding")
	// Its own cluster's Kubernetes API is reached (503: the agent never connected).
	for _, path := range []string{"/kinds", "/overview", "/resources/pods", "/proxy/api/v1/namespaces"} {
		r := c.cred.For(t).Do(http.MethodGet, apitest.Path("%s/clusters/%d%s", httpapi.Prefix, mine, path), nil)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s: %s", path, r.Body)
	}
}

// The table's vocabulary gives each persona the outcome its prose promises, including the
// modifiers rows use for routes narrowed in their service (the user picker: signed in and
// admin of at least one scope).
func TestPermissionNeedVocabulary(t *testing.T) {
	picker := signedIn.only("admins of at least one scope", adminSomewhere)
	want := map[string]map[string]outcome{
		"platform(editor)": {"anonymous": unauthenticated, "super-admin": allowed, "platform-viewer": forbidden,
			"platform-editor": allowed, "cluster-admin": forbidden, "cluster-limited-token": tokenLimited, "revoked-token": unauthenticated},
		"object(admin)": {"platform-editor": forbidden, "platform-admin": allowed, "cluster-editor": forbidden,
			"cluster-admin": allowed, "other-cluster-admin": forbidden, "cluster-limited-token": tokenLimited, "disabled-user": unauthenticated},
		"kubernetesAPI(viewer)": {"cluster-viewer": allowed, "other-cluster-admin": forbidden, "cluster-limited-token": allowed},
		"picker": {"platform-viewer": forbidden, "platform-admin": allowed, "cluster-viewer": forbidden, "cluster-admin": allowed,
			"other-cluster-admin": allowed, "other-cluster-editor": forbidden, "cluster-limited-token": tokenLimited, "anonymous": unauthenticated},
	}
	needs := map[string]need{"platform(editor)": platform(access.Editor), "object(admin)": object(access.Admin),
		"kubernetesAPI(viewer)": kubernetesAPI(access.Viewer), "picker": picker}
	byName := map[string]persona{}
	for _, p := range personas {
		byName[p.name] = p
	}
	for n, cases := range want {
		for name, o := range cases {
			p, ok := byName[name]
			require.True(t, ok, name)
			require.Equal(t, o, needs[n].expect(p), "%s as %s", n, name)
		}
	}
	require.Equal(t, httpapi.Requirement{}, picker.requirement(), "narrowing keeps the guard the kind implies")
	custom := httpapi.Requirement{Role: access.Viewer, ScopeFrom: "platform"}
	require.Equal(t, custom, signedIn.declares(custom).requirement())
}

// exampleQuery renders a query example struct from its `query` tags.
func exampleQuery(t *testing.T, ex any) url.Values {
	q := url.Values{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			fv := v.Field(i)
			if f.Anonymous {
				walk(fv)
				continue
			}
			name := f.Tag.Get("query")
			if name == "" || fv.IsZero() {
				continue
			}
			if fv.Kind() == reflect.Pointer {
				fv = fv.Elem()
			}
			b, err := json.Marshal(fv.Interface())
			require.NoError(t, err)
			q.Set(name, strings.Trim(string(b), `"`))
		}
	}
	walk(reflect.ValueOf(ex))
	return q
}
