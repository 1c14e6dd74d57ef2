package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubespace/kubespace/pkg/errs"
)

// HealthCheck is one readiness dependency (database, event bus).
type HealthCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Readiness is the /readyz body.
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (a *API) registerSystem() {
	e := a.engine
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		r := Readiness{Status: "ok", Checks: map[string]string{}}
		for _, h := range a.deps.Health {
			if err := h.Check(ctx); err != nil {
				r.Status = "unavailable"
				r.Checks[h.Name] = err.Error()
			} else {
				r.Checks[h.Name] = "ok"
			}
		}
		status := http.StatusOK
		if r.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		c.JSON(status, r)
	})
	if a.deps.Gatherer != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.deps.Gatherer, promhttp.HandlerOpts{})))
	}
	a.register(&Route{Method: http.MethodGet, Path: "/version", Tag: "system", Summary: "Server version",
		Guard: Public(), Handler: Do(func(*Call, *NoInput) (VersionInfo, error) { return a.deps.Version, nil })})
	a.register(&Route{Method: http.MethodGet, Path: "/openapi.json", Tag: "system", Summary: "This API's OpenAPI 3 document",
		Guard: Public(), Handler: Do(func(*Call, *NoInput) (OpenAPIDocument, error) { return a.OpenAPI() })})
}

// noRoute answers unknown API paths with a JSON 404 and everything else with the console.
func (a *API) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	if strings.HasPrefix(p, Prefix+"/") || p == Prefix || a.deps.Console == nil ||
		(c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		writeError(c, a.deps.Log, errs.NotFoundf("no such endpoint: %s %s", c.Request.Method, p).WithCode("no_route"))
		return
	}
	// gin has already set 404 for an unmatched route; the console answers these paths itself.
	c.Status(http.StatusOK)
	a.deps.Console.ServeHTTP(c.Writer, c.Request)
}
