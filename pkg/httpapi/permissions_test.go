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

// persona is a kind of caller in the permission matrix.
type persona struct {
	name string
	role access.Role // platform role; None for anonymous and outsiders
	anon bool
}

var personas = []persona{
	{name: "anonymous", anon: true},
	{name: "outsider"}, // signed in, admin of another cluster only (no platform role)
	{name: "viewer", role: access.Viewer},
	{name: "editor", role: access.Editor},
	{name: "padmin", role: access.Admin}, // a platform admin who is not a super admin
}

// fixtureSeq numbers fixture objects so their names never collide (subtests run sequentially).
var fixtureSeq int

func nextSeq() int { fixtureSeq++; return fixtureSeq }

// fixtures turn a route's path into a concrete one, creating the object it names. Every route
// with a path parameter needs an entry: a new route without one fails the matrix.
func fixtures(t *testing.T, admin, caller *apitest.Client) map[string]func() string {
	create := func(path string, body any) int64 {
		return admin.Expect(http.StatusCreated, http.MethodPost, path, body).ID(t)
	}
	uniq := func(p string) string { return fmt.Sprintf("%s-%d", p, nextSeq()) }
	return map[string]func() string{
		"/users/:id": func() string {
			return apitest.Path("/users/%d", create("/api/v1/users", map[string]any{"username": uniq("u"), "password": apitest.Password}))
		},
		"/tokens/:id": func() string {
			owner := caller
			if owner.Token == "" {
				owner = admin
			}
			return apitest.Path("/tokens/%d", owner.Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "t"}).ID(t))
		},
		"/role-bindings/:id": func() string {
			uid := create("/api/v1/users", map[string]any{"username": uniq("b"), "password": apitest.Password})
			return apitest.Path("/role-bindings/%d", create("/api/v1/role-bindings", map[string]any{"user_id": uid, "scope": "platform", "scope_id": 0, "role": "viewer"}))
		},
		"/secrets/:id": func() string {
			return apitest.Path("/secrets/%d", create("/api/v1/secrets", map[string]any{"name": uniq("s"), "type": "token", "token": "x"}))
		},
		"/clusters/:id": func() string {
			return apitest.Path("/clusters/%d", create("/api/v1/clusters", map[string]any{"name": uniq("c")}))
		},
		"/clusters/:id/kubeconfig": func() string {
			return apitest.Path("/clusters/%d/kubeconfig", create("/api/v1/clusters", map[string]any{"name": uniq("c")}))
		},
		"/clusters/:id/proxy/*path": func() string {
			// An agent cluster whose agent never connected: allowed callers get 503, not 401/403.
			return apitest.Path("/clusters/%d/proxy/api/v1/namespaces", create("/api/v1/clusters", map[string]any{"name": uniq("c")}))
		},
		"/clusters/:id/kinds":               agentCluster(create, uniq, "/clusters/%d/kinds"),
		"/clusters/:id/overview":            agentCluster(create, uniq, "/clusters/%d/overview"),
		"/clusters/:id/resources/:resource": agentCluster(create, uniq, "/clusters/%d/resources/pods"),
		"/clusters/:id/apply":               agentCluster(create, uniq, "/clusters/%d/apply"),
		"/image-registries/:id": func() string {
			return apitest.Path("/image-registries/%d", create("/api/v1/image-registries", map[string]any{"registry": uniq("r") + ".example.com"}))
		},
	}
}

// agentCluster makes a cluster whose agent never connected: allowed callers get 503 from the
// routes that need the cluster, which is neither 401 nor 403.
func agentCluster(create func(string, any) int64, uniq func(string) string, format string) func() string {
	return func() string {
		return apitest.Path(format, create("/api/v1/clusters", map[string]any{"name": uniq("c")}))
	}
}

// TestPermissionMatrix derives the expected outcome of every registered route from its declared
// guard and checks it for each persona.
func TestPermissionMatrix(t *testing.T) {
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "100000"})
	admin := s.Admin()
	users := map[string]*apitest.Client{"anonymous": s.Anonymous()}
	// The outsider administers another scope object (a cluster of its own; workspaces grow the
	// same way) and must get nothing from that anywhere else.
	elsewhere := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/clusters", map[string]any{"name": "elsewhere"}).ID(t)
	for _, p := range personas[1:] {
		switch {
		case p.role != access.None:
			users[p.name] = s.User(admin, p.name, "platform", 0, p.role.String())
		default:
			users[p.name] = s.User(admin, p.name, "cluster", elsewhere, access.Admin.String())
		}
	}
	for _, r := range s.App.API.Routes() {
		req := r.Guard.Requirement()
		for _, p := range personas {
			t.Run(fmt.Sprintf("%s %s as %s", r.Method, r.Path, p.name), func(t *testing.T) {
				// Log in afresh: some routes (logout, password change) end the caller's session.
				c := users[p.name].For(t)
				if !p.anon {
					c = s.For(t).Login(p.name, apitest.Password)
				}
				path := r.Path
				if strings.Contains(path, ":") {
					fx, ok := fixtures(t, admin.For(t), c)[r.Path]
					require.True(t, ok, "no permission-matrix fixture for %s", r.Path)
					path = fx()
				}
				body, query := requestFor(t, r, p)
				if r.Method == http.MethodPost && r.Path == "/role-bindings" {
					// Grant to a fresh user: the example's user id may be one of the personas.
					uid := admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/users",
						map[string]any{"username": fmt.Sprintf("g-%d", nextSeq()), "password": apitest.Password}).ID(t)
					body = map[string]any{"user_id": uid, "scope": "platform", "scope_id": 0, "role": "viewer"}
				}
				method := r.Method
				if method == httpapi.MethodAny {
					method = http.MethodGet
				}
				resp := c.Do(method, httpapi.Prefix+path+query, body)
				switch {
				case req.Public:
					require.NotContains(t, []int{401, 403}, resp.Status, "public route refused: %.300s", resp.Body)
				case p.anon:
					require.Equal(t, http.StatusUnauthorized, resp.Status, "%.300s", resp.Body)
				case p.role >= req.Role:
					require.NotContains(t, []int{401, 403}, resp.Status, "allowed caller refused: %.300s", resp.Body)
					require.NotEqual(t, http.StatusInternalServerError, resp.Status, "%.300s", resp.Body)
				default:
					require.Equal(t, http.StatusForbidden, resp.Status, "%.300s", resp.Body)
				}
			})
		}
	}
}

// requestFor builds a valid request from the route's example; login uses the persona's own
// credentials so public routes are exercised for real.
func requestFor(t *testing.T, r *httpapi.Route, p persona) (body any, query string) {
	if r.Path == "/auth/login" {
		name := p.name
		if p.anon {
			name = "admin"
		}
		return map[string]string{"username": name, "password": apitest.Password}, ""
	}
	if r.Example == nil {
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			return "{}", ""
		}
		return nil, ""
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		return r.Example, ""
	}
	return nil, "?" + exampleQuery(t, r.Example).Encode()
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
