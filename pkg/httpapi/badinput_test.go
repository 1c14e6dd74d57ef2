package httpapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/store"
)

var objectSeq atomic.Int64

// objectPath turns a route path into a concrete one, creating the object its :id names (as
// admin). A route with a parameter this does not know fails the test: add a fixture.
func objectPath(t testing.TB, admin *apitest.Client, routePath string) string {
	t.Helper()
	if !strings.Contains(routePath, ":") && !strings.Contains(routePath, "*") {
		return routePath
	}
	uniq := func(p string) string { return fmt.Sprintf("%s-%d", p, objectSeq.Add(1)) }
	create := func(path string, body any) int64 {
		return admin.Expect(http.StatusCreated, http.MethodPost, httpapi.Prefix+path, body).ID(t)
	}
	makers := map[string]func() int64{
		"users": func() int64 {
			return create("/users", map[string]any{"username": uniq("obj"), "password": apitest.Password})
		},
		"tokens": func() int64 { return create("/tokens", map[string]any{"name": uniq("t")}) },
		"role-bindings": func() int64 {
			uid := create("/users", map[string]any{"username": uniq("rb"), "password": apitest.Password})
			return create("/role-bindings", map[string]any{"user_id": uid, "scope": "platform", "scope_id": 0, "role": "viewer"})
		},
		"secrets": func() int64 {
			return create("/secrets", map[string]any{"name": uniq("s"), "type": "token", "token": "x"})
		},
		"image-registries": func() int64 {
			return create("/image-registries", map[string]any{"registry": uniq("r") + ".example.com"})
		},
		"clusters": func() int64 { return create("/clusters", map[string]any{"name": uniq("c")}) },
		"pipeline-workspaces": func() int64 {
			return create("/pipeline-workspaces", map[string]any{"name": uniq("pws"), "type": "custom"})
		},
		"pipelines": func() int64 {
			ws := create("/pipeline-workspaces", map[string]any{"name": uniq("pws"), "type": "custom"})
			return create(fmt.Sprintf("/pipeline-workspaces/%d/pipelines", ws), plainPipeline(uniq("p")))
		},
		// Spacelets (spacelets_test.go).
		"spacelets":       func() int64 { return spaceletFixture(t, admin.S) },
		"spacelet-tokens": func() int64 { return create("/spacelet-tokens", map[string]any{"name": uniq("t")}) },
		"job-runs":        func() int64 { id, _ := jobFixture(t, admin.S, store.StatusOK, "log\n"); return id },
	}
	segs := strings.Split(strings.TrimPrefix(routePath, "/"), "/")
	for i, seg := range segs {
		switch {
		case seg == ":id" && i > 0:
			mk, ok := makers[segs[i-1]]
			if !ok {
				mk, ok = func() int64 { return objectMakers[segs[i-1]](t, admin) }, objectMakers[segs[i-1]] != nil
			}
			require.True(t, ok, "no fixture for %s: add one to objectPath", routePath)
			segs[i] = fmt.Sprint(mk())
		case paramMakers[seg] != nil:
			segs[i] = paramMakers[seg](t, admin, segs[:i])
		case seg == "*path":
			segs[i] = "api/v1/namespaces"
		case strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*"):
			t.Fatalf("no fixture for parameter %s of %s: add one to objectPath", seg, routePath)
		}
	}
	return "/" + strings.Join(segs, "/")
}

// decoders lists the routes that decode input: body routes (POST/PUT/PATCH with an input
// type) and query routes (other methods with an input type), by "METHOD /path".
func decoders(s *apitest.Server) (body, query map[string]*httpapi.Route) {
	body, query = map[string]*httpapi.Route{}, map[string]*httpapi.Route{}
	for _, r := range s.App.API.Routes() {
		in, _ := httpapi.HandlerTypes(r.Handler)
		if in == reflect.TypeFor[httpapi.NoInput]() {
			continue
		}
		key := r.Method + " " + r.Path
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			body[key] = r
		} else {
			query[key] = r
		}
	}
	return body, query
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exampleJSON is the route's example as a JSON object.
func exampleJSON(t testing.TB, r *httpapi.Route) map[string]any {
	out := map[string]any{}
	if r.Example != nil {
		b, err := json.Marshal(r.Example)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &out))
	}
	return out
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

// requireClientError asserts a 4xx with a well-formed error body.
func requireClientError(t testing.TB, r *apitest.Response, status int) apiError {
	t.Helper()
	require.Less(t, r.Status, 500, "%s", r.Body)
	return requireError(t, r, status, "")
}

// wrongValue returns a JSON value of another type than the schema's.
func wrongValue(p *openapi3.Schema) any {
	if p.Type.Is("string") {
		return 5
	}
	return "x"
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	env := map[string]string{"LOGIN_MAX_PER_IP": "1000000", "LOGIN_MAX_FAILURES": "1000000"}
	onEachEngine(t, env, func(t *testing.T, s *apitest.Server) {
		admin := s.Admin()
		doc, err := s.App.API.BuildOpenAPI()
		require.NoError(t, err)
		op := func(r *httpapi.Route) *openapi3.Operation {
			return doc.Paths.Find(httpapi.OpenAPIPath(r.Path)).GetOperation(r.Method)
		}
		bodyRoutes, queryRoutes := decoders(s)
		for _, key := range sortedKeys(bodyRoutes) {
			r := bodyRoutes[key]
			t.Run(key, func(t *testing.T) {
				path := httpapi.Prefix + objectPath(t, admin.For(t), r.Path)
				badBodies(t, admin.For(t), r, path, op(r))
			})
		}
		for _, key := range sortedKeys(queryRoutes) {
			r := queryRoutes[key]
			t.Run(key, func(t *testing.T) {
				path := httpapi.Prefix + objectPath(t, admin.For(t), r.Path)
				badQueries(t, admin.For(t), r, path, op(r))
			})
		}
		t.Run("bad path ids", func(t *testing.T) { badPathIDs(t, s, admin) })
		t.Run("unknown enum values", func(t *testing.T) { badEnums(t, admin) })
		t.Run("unknown routes and methods", func(t *testing.T) {
			requireError(t, admin.For(t).Do(http.MethodGet, "/api/v1/no-such-thing", nil), http.StatusNotFound, "no_route")
			requireError(t, admin.For(t).Do(http.MethodPatch, "/api/v1/users", "{}"), http.StatusMethodNotAllowed, "method_not_allowed")
		})
		t.Run("the users table survived", func(t *testing.T) {
			admin.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/users?q=admin", nil)
			s.For(t).Login("admin", apitest.Password)
		})
	})
}

func badBodies(t *testing.T, c *apitest.Client, r *httpapi.Route, path string, op *openapi3.Operation) {
	ex := exampleJSON(t, r)
	exs := jsonText(ex)
	with := func(k string, v any) string { m := maps.Clone(ex); m[k] = v; return jsonText(m) }
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed", `{"username":`, 400, ""},
		{"not JSON", `username=bob&password=x`, 400, ""},
		{"empty", ``, 400, ""},
		{"whitespace", " \n\t ", 400, ""},
		{"array", `[]`, 400, ""},
		{"array of the example", "[" + exs + "]", 400, ""},
		{"null", `null`, 400, ""},
		{"string", `"x"`, 400, ""},
		{"number", `5`, 400, ""},
		{"trailing object", exs + `{}`, 400, ""},
		{"trailing garbage", exs + ` x`, 400, ""},
		{"broken UTF-8", "{\"name\":\"\xff\xfe\"}", 0, ""}, // decoded as U+FFFD: any outcome but a 5xx
		{"deep nesting", `{"zzz":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, 400, ""},
		{"unknown field", with("zzz_unknown", 1), 400, "zzz_unknown"},
		{"oversize", `{"zzz":"` + strings.Repeat("a", int(r.MaxBody)) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.For(t).Do(r.Method, path, tc.body)
			require.Less(t, resp.Status, 500, "%s", resp.Body)
			if tc.status == 0 {
				return
			}
			e := requireClientError(t, resp, tc.status)
			if tc.status == 413 {
				require.Equal(t, "too_large", e.Code)
			}
			if tc.field != "" {
				requireField(t, resp, tc.field)
			}
		})
	}
	schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
	for _, name := range sortedKeys(schema.Properties) {
		v := wrongValue(schema.Properties[name].Value)
		t.Run("wrong type of "+name, func(t *testing.T) {
			msg := requireField(t, c.For(t).Do(r.Method, path, with(name, v)), name)
			require.True(t, strings.HasPrefix(msg, "must be "), "%s: %s", name, msg)
		})
	}
}

func badQueries(t *testing.T, c *apitest.Client, r *httpapi.Route, path string, op *openapi3.Operation) {
	type qcase struct {
		query  string
		status int
		param  string
	}
	var cases []qcase
	for _, p := range op.Parameters {
		pv := p.Value
		if pv.In != "query" {
			continue
		}
		sch := pv.Schema.Value
		switch {
		case sch.Type.Is("integer"):
			for _, v := range []string{"abc", "1.5", "99999999999999999999", "", "0x10"} {
				cases = append(cases, qcase{pv.Name + "=" + url.QueryEscape(v), 400, pv.Name})
			}
		case sch.Type.Is("boolean"):
			cases = append(cases, qcase{pv.Name + "=maybe", 400, pv.Name})
		case sch.Format == "date-time":
			for _, v := range []string{"yesterday", "2026-13-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "0000-01-01T00:00:00+01:00", "2026-01-02"} {
				cases = append(cases, qcase{pv.Name + "=" + url.QueryEscape(v), 400, pv.Name})
			}
		case len(sch.Enum) > 0:
			cases = append(cases, qcase{pv.Name + "=galaxy", 400, pv.Name}, qcase{pv.Name + "=" + strings.ToUpper(fmt.Sprint(sch.Enum[0])), 400, pv.Name})
		case sch.Type.Is("string"):
			cases = append(cases, qcase{pv.Name + "=" + strings.Repeat("x", 1025), 400, pv.Name},
				qcase{pv.Name + "=%ff%fe", 0, ""}, qcase{pv.Name + "=%00", 0, ""})
		}
	}
	if op.Parameters.GetByInAndName("query", "continue") != nil { // a paged list
		cases = append(cases,
			qcase{"limit=0", 200, ""}, qcase{"limit=1000", 200, ""}, qcase{"limit=-1", 400, "limit"},
			qcase{"limit=1001", 400, "limit"}, qcase{"limit=5000", 400, "limit"},
			qcase{"continue=garbage", 400, "continue"}, qcase{"continue=" + url.QueryEscape(`eyJzIjoiaWQiLCJ2IjoxLCJpZCI6MX0`) + "&sort=-id", 400, "continue"},
			qcase{"continue=eyJzIjoiaWQiLCJ2IjoiMSIsImlkIjoxfQ", 400, "continue"},
			qcase{"sort=" + url.QueryEscape("username;DROP TABLE users"), 400, "sort"}, qcase{"sort=-nope", 400, "sort"},
			qcase{"sort=--id", 400, "sort"}, qcase{"sort=" + url.QueryEscape("id desc"), 400, "sort"},
			qcase{"q=" + url.QueryEscape("' OR 1=1--"), 200, ""}, qcase{"q=%25", 200, ""}, qcase{"q=_", 200, ""},
			qcase{"q=" + url.QueryEscape(`\`), 200, ""}, qcase{"q=!", 200, ""},
		)
	}
	require.NotEmpty(t, cases, "a query route without parameters")
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp := c.For(t).Do(r.Method, path+"?"+tc.query, nil)
			require.Less(t, resp.Status, 500, "%s", resp.Body)
			switch {
			case tc.status == 0:
				if resp.Status >= 400 {
					requireClientError(t, resp, http.StatusBadRequest)
				}
			case tc.status >= 400:
				requireNames(t, resp, tc.param)
			default:
				require.Equal(t, tc.status, resp.Status, "%s", resp.Body)
			}
		})
	}
}

func badPathIDs(t *testing.T, s *apitest.Server, admin *apitest.Client) {
	for _, r := range s.App.API.Routes() {
		if !strings.Contains(r.Path, ":id") {
			continue
		}
		method := r.Method
		if method == httpapi.MethodAny {
			method = http.MethodGet
		}
		var body any
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			body = jsonText(exampleJSON(t, r))
		}
		for _, id := range []string{"abc", "-1", "0", "99999999999999999999", "1.5", "%ff", "1%20", "0x1", "999999"} {
			t.Run(method+" "+r.Path+" "+id, func(t *testing.T) {
				path := httpapi.Prefix + strings.NewReplacer(":id", id, "*path", "api").Replace(r.Path)
				want := http.StatusBadRequest
				if id == "999999" {
					want = http.StatusNotFound
				}
				requireClientError(t, admin.For(t).Do(method, path, body), want)
			})
		}
	}
}

func badEnums(t *testing.T, admin *apitest.Client) {
	cases := []struct {
		method, path string
		body         map[string]any
		field        string
	}{
		{http.MethodPut, "/users/:id", map[string]any{"status": "zombie"}, "status"},
		{http.MethodPut, "/users/:id", map[string]any{"status": "Active"}, "status"},
		{http.MethodPost, "/role-bindings", map[string]any{"user_id": 1, "scope": "platform", "scope_id": 0, "role": "god"}, "role"},
		{http.MethodPost, "/role-bindings", map[string]any{"user_id": 1, "scope": "galaxy", "scope_id": 0, "role": "viewer"}, "scope"},
		{http.MethodPost, "/secrets", map[string]any{"name": "e", "type": "magic", "token": "x"}, "type"},
		{http.MethodPut, "/secrets/:id", map[string]any{"type": "magic"}, "type"},
		{http.MethodPost, "/pipeline-workspaces", map[string]any{"name": "e", "type": "svn"}, "type"},
		{http.MethodPost, "/pipeline-workspaces", map[string]any{"type": "code", "code_url": "https://h/x.git", "code_provider": "svn"}, "code_provider"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path+" "+tc.field, func(t *testing.T) {
			path := httpapi.Prefix + objectPath(t, admin.For(t), tc.path)
			msg := requireField(t, admin.For(t).Do(tc.method, path, tc.body), tc.field)
			require.Contains(t, msg, "must be")
		})
	}
}
