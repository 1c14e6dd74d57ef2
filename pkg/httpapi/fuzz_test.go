package httpapi_test

// Fuzz targets: one per request decoder (every body route and every query route), each driven
// through the real router of a server started once per target, with an admin session. The seed
// corpus (the route's example and hostile inputs) runs with every `go test`; fuzz one target
// with, for example:
//
//	go test -run='^$' -fuzz='^FuzzCreateUser$' -fuzztime=10s ./pkg/httpapi/

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

// fuzzTargets names the fuzz target of every decoding route; TestEveryDecoderHasAFuzzTarget
// keeps it complete.
var fuzzTargets = map[string]func(*testing.F){
	"POST /setup":                   FuzzSetup,
	"POST /auth/login":              FuzzLogin,
	"POST /users":                   FuzzCreateUser,
	"PUT /users/:id":                FuzzUpdateUser,
	"PUT /users/me/password":        FuzzChangePassword,
	"POST /tokens":                  FuzzCreateToken,
	"POST /role-bindings":           FuzzGrant,
	"POST /secrets":                 FuzzCreateSecret,
	"PUT /secrets/:id":              FuzzUpdateSecret,
	"POST /image-registries":        FuzzCreateRegistry,
	"PUT /image-registries/:id":     FuzzUpdateRegistry,
	"POST /clusters":                FuzzCreateCluster,
	"PUT /clusters/:id":             FuzzUpdateCluster,
	"POST /clusters/:id/kubeconfig": FuzzClusterKubeconfig,
	"POST /clusters/:id/apply":      FuzzApply,
	"GET /users":                    FuzzListUsers,
	"GET /users/picker":             FuzzPickUsers,
	"GET /tokens":                   FuzzListTokens,
	"GET /role-bindings":            FuzzListRoleBindings,
	"GET /audit-events":             FuzzListAuditEvents,
	"GET /secrets":                  FuzzListSecrets,
	"GET /image-registries":         FuzzListRegistries,
	"GET /clusters":                 FuzzListClusters,
	"DELETE /clusters/:id":          FuzzDeleteClusterQuery,

	// Spacelets (spacelets_test.go).
	"GET /spacelets":        FuzzListSpacelets,
	"PUT /spacelets/:id":    FuzzUpdateSpacelet,
	"GET /spacelet-tokens":  FuzzListSpaceletTokens,
	"POST /spacelet-tokens": FuzzCreateSpaceletToken,
}

func TestEveryDecoderHasAFuzzTarget(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	body, query := decoders(s)
	all := map[string]bool{}
	for _, m := range []map[string]*httpapi.Route{body, query} {
		for key := range m {
			all[key] = true
			_, ok := fuzzTargets[key]
			require.True(t, ok, "%s decodes input but has no fuzz target: add one to fuzz_test.go", key)
		}
	}
	for key := range fuzzTargets {
		require.True(t, all[key], "fuzz target for %s, which decodes nothing (or no longer exists)", key)
	}
}

// fuzzer drives one route of a server started for one fuzz target.
type fuzzer struct {
	s      *apitest.Server
	route  *httpapi.Route
	path   string // concrete, below the API prefix
	public bool
	// unavailable allows 503: the route reaches a cluster, and the fixture's never connects.
	unavailable bool

	mu    sync.Mutex
	token string
}

// newFuzzer starts the server (set up, unless the target is setup itself) and resolves key.
func newFuzzer(f *testing.F, key string) *fuzzer {
	s := apitest.Start(f, map[string]string{"LOGIN_MAX_PER_IP": "1000000", "LOGIN_MAX_FAILURES": "1000000"})
	z := &fuzzer{s: s}
	for _, r := range s.App.API.Routes() {
		if r.Method+" "+r.Path == key {
			z.route = r
		}
	}
	require.NotNil(f, z.route, "no route %s", key)
	z.public = z.route.Guard.Requirement().Public
	z.path = z.route.Path
	if key != "POST /setup" {
		admin := s.Admin()
		z.token = admin.Token
		z.path = objectPath(f, admin, z.route.Path)
	}
	return z
}

// relogin restores the admin's credentials after an input ended them (a password change).
func (z *fuzzer) relogin(t *testing.T, stale string) string {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.token == stale {
		require.NoError(t, z.s.App.Identity.ResetPassword(context.Background(), "admin", apitest.Password))
		z.token = z.s.For(t).Login("admin", apitest.Password).Token
	}
	return z.token
}

// do sends one request through the router and checks the answer: no 5xx, a JSON body that
// matches the OpenAPI document, and an error body with a code and a message.
func (z *fuzzer) do(t *testing.T, query string, body []byte) {
	z.mu.Lock()
	token := z.token
	z.mu.Unlock()
	rec := z.serve(query, body, token)
	if rec.Code == http.StatusUnauthorized && !z.public {
		rec = z.serve(query, body, z.relogin(t, token))
	}
	out := rec.Body.Bytes()
	if rec.Code >= 500 && !(z.unavailable && rec.Code == http.StatusServiceUnavailable) {
		t.Fatalf("%s %s?%s answered %d: %s\nbody sent: %q", z.route.Method, z.path, query, rec.Code, out, body)
	}
	if rec.Code == http.StatusNoContent {
		require.Empty(t, out)
		return
	}
	require.True(t, json.Valid(out), "%d with a non-JSON body %q for %q", rec.Code, out, body)
	if rec.Code >= 400 {
		var e apiError
		require.NoError(t, json.Unmarshal(out, &e))
		require.Regexp(t, snakeCase, e.Code, "%s", out)
		require.NotEmpty(t, e.Message, "%s", out)
	}
	probe, err := http.NewRequest(z.route.Method, z.s.URL+httpapi.Prefix+z.path, nil)
	require.NoError(t, err)
	z.s.Check(t, probe.Method, probe.URL.String(), rec.Code, rec.Header(), out)
}

func (z *fuzzer) serve(query string, body []byte, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(z.route.Method, httpapi.Prefix+z.path, bytes.NewReader(body))
	req.URL.RawQuery = query
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	z.s.App.API.Handler().ServeHTTP(rec, req)
	return rec
}

// fuzzBody fuzzes the JSON body of the route key, seeded with its example, a wrong-typed
// variant of every example field, generic hostile bodies and seeds.
func fuzzBody(f *testing.F, key string, seeds ...string) {
	fuzzBodyOf(f, newFuzzer(f, key), seeds...)
}

func fuzzBodyOf(f *testing.F, z *fuzzer, seeds ...string) {
	ex := exampleJSON(f, z.route)
	f.Add([]byte(jsonText(ex)))
	for k := range ex {
		for _, v := range []any{5, "x", nil, true, []any{}, map[string]any{}, strings.Repeat("é", 300), 1e300} {
			m := map[string]any{}
			for kk, vv := range ex {
				m[kk] = vv
			}
			m[k] = v
			f.Add([]byte(jsonText(m)))
		}
	}
	for _, s := range append([]string{"", "{}", "null", "[]", `{"a":`, jsonText(ex) + "{}", `{"zzz":1}`,
		`{"user_id":1e400}`, "{\"name\":\"\xff\"}", `{"name":"a\u0000b"}`}, seeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { z.do(t, "", body) })
}

// fuzzQuery fuzzes the raw query string of the route key, seeded with its example, a real
// continue token, hostile queries and seeds.
func fuzzQuery(f *testing.F, key string, seeds ...string) {
	z := newFuzzer(f, key)
	f.Add(exampleValues(z.route.Example).Encode())
	if z.route.Method == http.MethodGet {
		rec := z.serve("limit=1", nil, z.token)
		var page struct {
			Continue string `json:"continue"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &page) == nil && page.Continue != "" {
			f.Add("limit=1&continue=" + page.Continue)
		}
	}
	for _, s := range append([]string{"", "limit=-1", "limit=1001", "limit=abc", "continue=garbage", "sort=-nope",
		"sort=username%3BDROP%20TABLE%20users", "q=%27%20OR%201=1--", "q=%25_!%5C", "q=%ff%fe%00", "limit=0&sort=-id",
		"scope=cluster&scope_id=9223372036854775807", "scope_id=-1", "since=9999-12-31T23:00:00-05:00",
		"until=0000-01-01T00:00:00%2B01:00", "force=maybe", "limit=%", "&&==&"}, seeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) { z.do(t, query, nil) })
}

// exampleValues renders a query example struct from its `query` tags.
func exampleValues(ex any) url.Values {
	q := url.Values{}
	if ex == nil {
		return q
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f, fv := v.Type().Field(i), v.Field(i)
			if f.Anonymous {
				walk(fv)
				continue
			}
			if name := f.Tag.Get("query"); name != "" && !fv.IsZero() {
				q.Set(name, fmt.Sprint(reflect.Indirect(fv).Interface()))
			}
		}
	}
	walk(reflect.ValueOf(ex))
	return q
}

const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

func FuzzSetup(f *testing.F) {
	fuzzBody(f, "POST /setup", `{"username":"root","password":"long-enough-1","email":"r@example.com","setup_token":"wrong-token"}`)
}

func FuzzLogin(f *testing.F) {
	fuzzBody(f, "POST /auth/login", `{"username":"admin","password":"wrong"}`, `{"username":"`+strings.Repeat("é", 40)+`","password":"x"}`)
}

func FuzzCreateUser(f *testing.F) {
	fuzzBody(f, "POST /users", `{"username":"bob","password":"long-enough-1","is_super":true,"email":"bob@x"}`)
}

func FuzzUpdateUser(f *testing.F) {
	fuzzBody(f, "PUT /users/:id", `{"status":"zombie"}`, `{"status":"disabled","is_super":true,"password":"another-one-1"}`)
}

func FuzzChangePassword(f *testing.F) {
	fuzzBody(f, "PUT /users/me/password", `{"old_password":"wrong","new_password":"short"}`)
}

func FuzzCreateToken(f *testing.F) {
	fuzzBody(f, "POST /tokens", `{"name":"ci","expires_at":"9999-12-31T23:00:00-05:00"}`,
		`{"name":"ci","expires_at":"2001-01-01T00:00:00Z"}`, `{"name":"ci","expires_at":5}`)
}

func FuzzGrant(f *testing.F) {
	fuzzBody(f, "POST /role-bindings", `{"user_id":1,"scope":"cluster","scope_id":5,"role":"viewer"}`,
		`{"user_id":1,"scope":"galaxy","scope_id":0,"role":"god"}`, `{"scope":5}`)
}

func FuzzCreateSecret(f *testing.F) {
	fuzzBody(f, "POST /secrets", `{"name":"k","type":"ssh_key","private_key":"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"}`,
		`{"name":"t","type":"token","token":"x"}`)
}

func FuzzUpdateSecret(f *testing.F) {
	fuzzBody(f, "PUT /secrets/:id", `{"type":"ssh_key"}`, `{"type":"password","password":""}`)
}

func FuzzCreateRegistry(f *testing.F) {
	fuzzBody(f, "POST /image-registries", `{"registry":"https://x"}`, `{"registry":"10.0.0.5:5000/path"}`)
}

func FuzzUpdateRegistry(f *testing.F) {
	fuzzBody(f, "PUT /image-registries/:id", `{"registry":""}`, `{"password":""}`)
}

func FuzzCreateCluster(f *testing.F) {
	fuzzBody(f, "POST /clusters", jsonText(map[string]any{"name": "k", "kubeconfig": unreachableKubeconfig}),
		`{"name":"k","kubeconfig":"apiVersion: v1\nkind: Config\nusers: [{name: u, user: {exec: {command: sh}}}]"}`,
		`{"name":"k","kubeconfig":"{{{"}`)
}

func FuzzUpdateCluster(f *testing.F) {
	fuzzBody(f, "PUT /clusters/:id", jsonText(map[string]any{"kubeconfig": unreachableKubeconfig}), `{"name":""}`)
}

func FuzzClusterKubeconfig(f *testing.F) {
	fuzzBody(f, "POST /clusters/:id/kubeconfig", `{"expires_in_days":0}`, `{"expires_in_days":9223372036854775807}`)
}

func FuzzApply(f *testing.F) {
	z := newFuzzer(f, "POST /clusters/:id/apply")
	z.unavailable = true
	fuzzBodyOf(f, z, `{"yaml":"kind: Secret\napiVersion: v1\nmetadata: {name: s}\nstringData: {pw: x}","dry_run":true}`,
		`{"yaml":"---\n---\n","namespace":"../x"}`, `{"yaml":"{{{"}`, `{"yaml":"a: *b"}`)
}

func FuzzListUsers(f *testing.F)      { fuzzQuery(f, "GET /users", "sort=-last_login_at&limit=1") }
func FuzzPickUsers(f *testing.F)      { fuzzQuery(f, "GET /users/picker", "q=adm&limit=50", "limit=51") }
func FuzzListTokens(f *testing.F)     { fuzzQuery(f, "GET /tokens", "sort=-expires_at") }
func FuzzListSecrets(f *testing.F)    { fuzzQuery(f, "GET /secrets", "sort=-created_at&q=x") }
func FuzzListRegistries(f *testing.F) { fuzzQuery(f, "GET /image-registries", "sort=registry&limit=2") }
func FuzzListClusters(f *testing.F)   { fuzzQuery(f, "GET /clusters", "sort=-name") }

func FuzzListRoleBindings(f *testing.F) {
	fuzzQuery(f, "GET /role-bindings", "scope=platform&scope_id=0&sort=-created_at", "scope=workspace&scope_id=1")
}

func FuzzListAuditEvents(f *testing.F) {
	fuzzQuery(f, "GET /audit-events", "username=admin&action=login&result=failure&since=2020-01-01T00:00:00Z&until=2030-01-01T00:00:00Z",
		"resource_type=user&sort=id&limit=1")
}

func FuzzDeleteClusterQuery(f *testing.F) {
	fuzzQuery(f, "DELETE /clusters/:id", "force=true", "force=false")
}
