package httpapi

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// TestRegisterRequiresDeclarations: a route without a guard, or a mutating route without an
// audit resource, cannot be registered.
func TestRegisterRequiresDeclarations(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	a := &API{engine: gin.New()}
	h := Do(func(*Call, *NoInput) (NoContent, error) { return NoContent{}, nil })
	require.PanicsWithValue(t, "route GET /x declares no guard", func() {
		a.register(&Route{Method: http.MethodGet, Path: "/x", Handler: h})
	})
	require.PanicsWithValue(t, "route POST /x mutates but names no audit resource", func() {
		a.register(&Route{Method: http.MethodPost, Path: "/x", Guard: Public(), Handler: h})
	})
	require.Panics(t, func() {
		a.register(&Route{Method: http.MethodPost, Path: "/x", Guard: Public(), Resource: "x", Handler: h, Example: 5})
	}, "an example of the wrong type is refused")
	a.register(&Route{Method: http.MethodDelete, Path: "/x", Guard: Public(), Resource: "x", Handler: h})
	require.Equal(t, http.StatusNoContent, a.routes[0].Status)
	require.Equal(t, "delete", a.routes[0].Action)
}
