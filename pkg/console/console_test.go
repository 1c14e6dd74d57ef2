package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/console"
)

func TestConsoleServesAContentSecurityPolicy(t *testing.T) {
	dist := fstest.MapFS{
		"index.html":       {Data: []byte(`<!doctype html><script type="module" src="/assets/app.js"></script>`)},
		"assets/app.js":    {Data: []byte(`console.log(1)`)},
		"assets/style.css": {Data: []byte(`body{}`)},
	}
	h := console.Handler(dist, true)
	for _, path := range []string{"/", "/clusters/1/overview", "/assets/app.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
		csp := rec.Header().Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self';", path)
		require.NotContains(t, csp, "unsafe-eval", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
	}
}
