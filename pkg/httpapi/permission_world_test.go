package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

// permWorld is a server with the objects the permission matrix acts on: a target cluster the
// personas hold roles in, another cluster, and a super admin who makes fixtures. Clusters are
// agent clusters whose agent never connected, so no Kubernetes is needed: the routes that
// reach the cluster answer 503.
type permWorld struct {
	s     *apitest.Server
	admin *apitest.Client
	other int64
	seq   atomic.Int64
	// pws holds the pipeline workspace of each target cluster (personas hold their target
	// role in both); otherPWS is another pipeline workspace (their "other" role).
	mu       sync.Mutex
	pws      map[int64]int64
	otherPWS int64
}

// caller is a persona made real: cred is what requests carry (no token: anonymous), owner a
// session of the persona's user for making its own fixtures (nil when it has none).
type caller struct {
	persona
	cred  *apitest.Client
	owner *apitest.Client
}

func newPermWorld(t *testing.T) *permWorld {
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "100000"})
	w := &permWorld{s: s, admin: s.Admin(), pws: map[int64]int64{}}
	w.other = w.cluster(t)
	w.otherPWS = w.pipelineWorkspace(t)
	return w
}

// uniq returns a fresh name.
func (w *permWorld) uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, w.seq.Add(1))
}

// cluster registers an agent cluster (its agent never connects).
func (w *permWorld) cluster(t *testing.T) int64 {
	return w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/clusters",
		map[string]any{"name": w.uniq("c")}).ID(t)
}

// user creates a user; super makes a super admin.
func (w *permWorld) user(t *testing.T, super bool) (id int64, name string) {
	name = w.uniq("u")
	id = w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/users",
		map[string]any{"username": name, "password": apitest.Password, "is_super": super}).ID(t)
	return id, name
}

// grant gives user uid role r in a scope (r None: nothing).
func (w *permWorld) grant(t *testing.T, uid int64, scope string, scopeID int64, r access.Role) int64 {
	if r == access.None {
		return 0
	}
	return w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings",
		map[string]any{"user_id": uid, "scope": scope, "scope_id": scopeID, "role": r.String()}).ID(t)
}

// build makes persona p real, with its cluster roles in target.
func (w *permWorld) build(t *testing.T, p persona, target int64) *caller {
	if p.anonymous {
		return &caller{persona: p, cred: w.s.Anonymous()}
	}
	uid, name := w.user(t, p.super)
	w.grant(t, uid, "platform", 0, p.platform)
	w.grant(t, uid, "cluster", target, p.target)
	w.grant(t, uid, "cluster", w.other, p.other)
	w.grant(t, uid, "pipeline_workspace", w.targetPWS(t, target), p.target)
	w.grant(t, uid, "pipeline_workspace", w.otherPWS, p.other)
	owner := w.s.For(t).Login(name, apitest.Password)
	c := &caller{persona: p, cred: owner, owner: owner}
	switch {
	case p.limited:
		var out struct {
			Kubeconfig string `json:"kubeconfig"`
		}
		owner.Expect(http.StatusCreated, http.MethodPost, apitest.Path("/api/v1/clusters/%d/kubeconfig", target), map[string]any{}).JSON(t, &out)
		cfg, err := clientcmd.Load([]byte(out.Kubeconfig))
		require.NoError(t, err)
		require.Len(t, cfg.AuthInfos, 1)
		for _, u := range cfg.AuthInfos {
			c.cred = &apitest.Client{S: w.s, Token: u.Token, UserID: uid, Name: p.name}
		}
	case p.disabled:
		w.admin.For(t).Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/users/%d", uid), map[string]any{"status": "disabled"})
		c.owner = nil
	case p.revoked:
		var tok struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		owner.Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "revoked"}).JSON(t, &tok)
		owner.Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/tokens/%d", tok.ID), nil)
		c.cred = &apitest.Client{S: w.s, Token: tok.Token, UserID: uid, Name: p.name}
	}
	return c
}

// freshWorld lists the routes that end the caller's credentials or remove the target: each of
// their calls gets a new target cluster and a newly built persona.
var freshWorld = map[string]bool{
	"POST /auth/logout":      true,
	"PUT /users/me/password": true,
	"DELETE /clusters/:id":   true,
}

// pathFixtures make the object a path names and return the concrete path (below /api/v1).
// Every path parameter needs one: a route without fails the matrix.
var pathFixtures = map[string]func(t *testing.T, w *permWorld, c *caller, target int64) string{
	"/users/:id": func(t *testing.T, w *permWorld, _ *caller, _ int64) string {
		id, _ := w.user(t, false)
		return apitest.Path("/users/%d", id)
	},
	"/tokens/:id": func(t *testing.T, w *permWorld, c *caller, _ int64) string {
		owner := c.owner // the caller's own token: the only kind anyone may revoke
		if owner == nil {
			owner = w.admin
		}
		return apitest.Path("/tokens/%d", owner.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens",
			map[string]any{"name": "fixture"}).ID(t))
	},
	"/role-bindings/:id": func(t *testing.T, w *permWorld, _ *caller, target int64) string {
		uid, _ := w.user(t, false)
		return apitest.Path("/role-bindings/%d", w.grant(t, uid, "cluster", target, access.Viewer))
	},
	"/secrets/:id": func(t *testing.T, w *permWorld, _ *caller, _ int64) string {
		return apitest.Path("/secrets/%d", w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets",
			map[string]any{"name": w.uniq("s"), "type": "token", "token": "x"}).ID(t))
	},
	"/image-registries/:id": func(t *testing.T, w *permWorld, _ *caller, _ int64) string {
		return apitest.Path("/image-registries/%d", w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/image-registries",
			map[string]any{"registry": w.uniq("r") + ".example.com"}).ID(t))
	},
	"/clusters/:id":                     targetPath("/clusters/%d"),
	"/clusters/:id/kubeconfig":          targetPath("/clusters/%d/kubeconfig"),
	"/clusters/:id/proxy/*path":         targetPath("/clusters/%d/proxy/api/v1/namespaces"),
	"/clusters/:id/kinds":               targetPath("/clusters/%d/kinds"),
	"/clusters/:id/overview":            targetPath("/clusters/%d/overview"),
	"/clusters/:id/resources/:resource": targetPath("/clusters/%d/resources/pods"),
	"/clusters/:id/apply":               targetPath("/clusters/%d/apply"),
	// Any pipeline workspace id: the signature, not the caller, decides.
	"/webhooks/:provider/:id": func(*testing.T, *permWorld, *caller, int64) string { return "/webhooks/github/1" },
	// Spacelets (spacelets_test.go).
	"/spacelets/:id":                spaceletPathFixture,
	"/spacelet-tokens/:id":          spaceletTokenPathFixture,
	"/job-runs/:id/log":             jobLogFixture,
	"/spacelet/jobs/:job/extend":    workerPath("/spacelet/jobs/%d/extend"),
	"/spacelet/jobs/:job/log":       workerPath("/spacelet/jobs/%d/log"),
	"/spacelet/jobs/:job/done":      workerPath("/spacelet/jobs/%d/done"),
	"/spacelet/jobs/:job/cancelled": workerPath("/spacelet/jobs/%d/cancelled"),
}

func targetPath(format string) func(*testing.T, *permWorld, *caller, int64) string {
	return func(_ *testing.T, _ *permWorld, _ *caller, target int64) string { return apitest.Path(format, target) }
}

// permissionInputs replace a route's Example where the example cannot succeed twice (unique
// names), names the wrong scope, or needs the caller's own secrets. body is JSON-encoded;
// query starts with "?".
var permissionInputs = map[string]func(t *testing.T, w *permWorld, c *caller, target int64) (body any, query string){
	"POST /auth/login": func(*testing.T, *permWorld, *caller, int64) (any, string) {
		return map[string]string{"username": "admin", "password": apitest.Password}, ""
	},
	"PUT /users/me/password": func(*testing.T, *permWorld, *caller, int64) (any, string) {
		return map[string]string{"old_password": apitest.Password, "new_password": "another-long-secret"}, ""
	},
	"POST /users": func(_ *testing.T, w *permWorld, _ *caller, _ int64) (any, string) {
		return map[string]any{"username": w.uniq("new"), "password": apitest.Password}, ""
	},
	"POST /secrets": func(_ *testing.T, w *permWorld, _ *caller, _ int64) (any, string) {
		return map[string]any{"name": w.uniq("s"), "type": "password", "username": "ci", "password": "s3cret-value"}, ""
	},
	"POST /image-registries": func(_ *testing.T, w *permWorld, _ *caller, _ int64) (any, string) {
		return map[string]any{"registry": w.uniq("r") + ".example.com", "username": "robot", "password": "s3cret-value"}, ""
	},
	"POST /clusters": func(_ *testing.T, w *permWorld, _ *caller, _ int64) (any, string) {
		return map[string]any{"name": w.uniq("c")}, ""
	},
	"GET /role-bindings": scopeQuery,
	"GET /audit-events":  scopeQuery,
	"POST /role-bindings": func(t *testing.T, w *permWorld, _ *caller, target int64) (any, string) {
		uid, _ := w.user(t, false) // a fresh grantee: the example's user may be a persona
		return map[string]any{"user_id": uid, "scope": "cluster", "scope_id": target, "role": "viewer"}, ""
	},
}

// scopeQuery names the target cluster as the scope.
func scopeQuery(_ *testing.T, _ *permWorld, _ *caller, target int64) (any, string) {
	return nil, fmt.Sprintf("?scope=cluster&scope_id=%d", target)
}

// input is the body and query a route is called with.
func (w *permWorld) input(t *testing.T, key string, r *httpapi.Route, c *caller, target int64) (body any, query string) {
	if f, ok := permissionInputs[key]; ok {
		return f(t, w, c, target)
	}
	switch {
	case r.Example == nil && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return "{}", ""
	case r.Example == nil:
		return nil, ""
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		return r.Example, ""
	}
	return nil, "?" + exampleQuery(t, r.Example).Encode()
}

// path is the concrete path a route is called on.
func (w *permWorld) path(t *testing.T, r *httpapi.Route, c *caller, target int64) string {
	if !strings.ContainsAny(r.Path, ":*") {
		return r.Path
	}
	fx, ok := pathFixtures[r.Path]
	require.True(t, ok, "no permission fixture for %s: add one to pathFixtures", r.Path)
	return fx(t, w, c, target)
}

// errorCode returns the code of a JSON error body ("" when there is none).
func errorCode(body []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Code
}
