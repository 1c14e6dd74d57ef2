package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

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
	for _, r := range s.App.API.Routes() {
		key := r.Method + " " + httpapi.OpenAPIPath(r.Path)
		registered[key] = true
		t.Run(key, func(t *testing.T) {
			require.True(t, documented[key], "route is not in the OpenAPI document")
			op := doc.Paths.Find(httpapi.OpenAPIPath(r.Path)).GetOperation(r.Method)
			require.NotEmpty(t, op.Summary)
			if r.Method == http.MethodPost || r.Method == http.MethodPut {
				in, _ := routeTypes(r)
				if in != "httpapi.NoInput" {
					require.NotNil(t, op.RequestBody, "a body route documents its request schema")
					require.NotNil(t, op.RequestBody.Value.Content.Get("application/json").Schema)
				}
			}
			ok := op.Responses.Status(r.Status)
			require.NotNil(t, ok, "success status %d documented", r.Status)
			if r.Status != http.StatusNoContent {
				require.NotNil(t, ok.Value.Content.Get("application/json").Schema, "success schema")
			}
			for _, st := range []int{400, 500} {
				e := op.Responses.Status(st)
				require.NotNil(t, e, "error %d documented", st)
				require.Equal(t, "#/components/schemas/Error", e.Value.Content.Get("application/json").Schema.Ref)
			}
			if !r.Guard.Requirement().Public {
				require.NotNil(t, op.Responses.Status(401))
				require.NotNil(t, op.Responses.Status(403))
				require.NotNil(t, op.Security)
			}
			require.Contains(t, op.Extensions, "x-kubespace-permission")
		})
	}
	for key := range documented {
		require.True(t, registered[key], "%s is documented but not registered", key)
	}
	// And the router itself serves exactly the declared routes under /api/v1.
	for _, gr := range s.App.API.GinRoutes() {
		if !strings.HasPrefix(gr, http.MethodGet+" "+httpapi.Prefix) && !strings.Contains(gr, " "+httpapi.Prefix) {
			continue
		}
		method, path, _ := strings.Cut(gr, " ")
		key := method + " " + httpapi.OpenAPIPath(strings.TrimPrefix(path, httpapi.Prefix))
		require.True(t, registered[key], "gin serves %s without a declaration", gr)
	}
}

func routeTypes(r *httpapi.Route) (string, string) {
	in, out := httpapi.HandlerTypes(r.Handler)
	return in.String(), out.String()
}
