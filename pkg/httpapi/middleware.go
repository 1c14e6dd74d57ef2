package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

const (
	ctxRequestID = "kubespace.request_id"
	ctxUser      = "kubespace.user"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

func setLogUser(c *gin.Context, u *store.User) { c.Set(ctxUser, u.Username) }

// requestLog assigns a request id (a sane client-sent X-Request-ID is kept), and logs each
// request once with its outcome.
func (a *API) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-ID", id)
		start := time.Now()
		c.Next()
		d := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		if a.metrics != nil {
			a.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
			a.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(d.Seconds())
		}
		level := slog.LevelInfo
		if status == http.StatusInternalServerError {
			level = slog.LevelError
		} else if status >= 500 {
			level = slog.LevelWarn // an unreachable cluster or dependency, not a fault here
		} else if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		// The path, never the query: queries may carry tokens (agent manifests, kubeconfigs).
		a.deps.Log.Log(c.Request.Context(), level, "http request", "request_id", id, "method", c.Request.Method,
			"path", c.Request.URL.Path, "route", route, "status", status, "duration_ms", d.Milliseconds(),
			"user", c.GetString(ctxUser), "ip", c.ClientIP())
	}
}

// recoverer turns a panic into a 500 with the standard error body, logging the stack.
func (a *API) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.deps.Log.Error("panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
					"request_id", requestID(c), "path", c.Request.URL.Path)
				if !c.Writer.Written() {
					writeError(c, a.deps.Log, errs.New(errs.Internal, "panic"))
				}
			}
		}()
		c.Next()
	}
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubespace_http_requests_total",
			Help: "HTTP requests by method, route and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kubespace_http_request_duration_seconds",
			Help: "HTTP request latency by method and route.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}
