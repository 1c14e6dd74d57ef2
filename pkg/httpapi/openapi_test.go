package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

// TestOpenAPIMatchesRoutes checks the served document against the router: every registered API
// route is documented with request, response and error schemas, and nothing else is documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := apitest.Start(t, nil)
	resp := s.Anonymous().Expect(http.StatusOK, http.MethodGet, "/api/v1/openapi.json", nil)
	require.Contains(t, string(resp.Body), `"openapi":"3.0.3"`)

	doc, err := s.App.API.BuildOpenAPI()
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := map[string]bool{}
	anyPaths := map[string]bool{}
	for _, r := range s.App.API.Routes() {
		methods := []string{r.Method}
		if r.Method == httpapi.MethodAny {
			methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
			anyPaths[httpapi.OpenAPIPath(r.Path)] = true
		}
		for _, method := range methods {
			checkOperation(t, doc, r, method, documented, registered)
		}
	}
	for key := range documented {
		require.True(t, registered[key], "%s is documented but not registered", key)
	}
	// And the router itself serves exactly the declared routes under /api/v1.
	for _, gr := range s.App.API.GinRoutes() {
		method, path, _ := strings.Cut(gr, " ")
		if !strings.HasPrefix(path, httpapi.Prefix) {
			continue
		}
		p := httpapi.OpenAPIPath(strings.TrimPrefix(path, httpapi.Prefix))
		require.True(t, registered[method+" "+p] || anyPaths[p], "gin serves %s without a declaration", gr)
	}
}

func checkOperation(t *testing.T, doc *openapi3.T, r *httpapi.Route, method string, documented, registered map[string]bool) {
	{
		key := method + " " + httpapi.OpenAPIPath(r.Path)
		registered[key] = true
		t.Run(key, func(t *testing.T) {
			require.True(t, documented[key], "route is not in the OpenAPI document")
			op := doc.Paths.Find(httpapi.OpenAPIPath(r.Path)).GetOperation(method)
			require.NotEmpty(t, op.Summary)
			in, out := routeTypes(r)
			if method == http.MethodPost || method == http.MethodPut {
				if in != "httpapi.NoInput" {
					require.NotNil(t, op.RequestBody, "a body route documents its request schema")
					require.NotNil(t, op.RequestBody.Value.Content.Get("application/json").Schema)
				}
			}
			ok := op.Responses.Status(r.Status)
			require.NotNil(t, ok, "success status %d documented", r.Status)
			if r.Status != http.StatusNoContent && out != "httpapi.RawOutput" {
				require.NotNil(t, ok.Value.Content.Get("application/json").Schema, "success schema")
			}
			for _, st := range []int{400, 500} {
				e := op.Responses.Status(st)
				require.NotNil(t, e, "error %d documented", st)
				if r.KubernetesErrors {
					require.NotNil(t, e.Value.Content.Get("application/json").Schema, "a Kubernetes Status")
				} else {
					require.Equal(t, "#/components/schemas/Error", e.Value.Content.Get("application/json").Schema.Ref)
				}
			}
			if !r.Guard.Requirement().Public {
				require.NotNil(t, op.Responses.Status(401))
				require.NotNil(t, op.Responses.Status(403))
				require.NotNil(t, op.Security)
			}
			require.Contains(t, op.Extensions, "x-kubespace-permission")
		})
	}
}

func routeTypes(r *httpapi.Route) (string, string) {
	in, out := httpapi.HandlerTypes(r.Handler)
	return in.String(), out.String()
}
