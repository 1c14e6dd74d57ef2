// Package httpapi is KubeSpace's REST API under /api/v1: routes declared with the permission they
// need, strict request decoding, one error translation, audit of every change, and the OpenAPI
// document generated from the same declarations. Handlers are thin: they decode, call a service
// and encode.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/audit"
	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/identity"
	"github.com/kubespace/kubespace/pkg/kubeproxy"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/resources"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// defaultMaxBody bounds request bodies unless a route says otherwise.
const defaultMaxBody = 1 << 20

// MethodAny registers a route for every HTTP method (the Kubernetes proxy).
const MethodAny = "ANY"

// Route declares one operation. A route without a Guard, or without a Resource on a mutating
// method, fails to register.
type Route struct {
	Method  string
	Path    string // below Prefix, gin syntax (":id")
	Summary string
	Tag     string
	Guard   Guard
	// Resource and Action name the operation in the audit log (Action defaults from the method).
	Resource string
	Action   string
	// Status is the success status (default 200; 204 for handlers returning NoContent).
	Status  int
	MaxBody int64
	// Example is a valid input (body or query), used in the OpenAPI document, the permission
	// matrix test and fuzz seeds.
	Example any
	// Response documents the body of a Raw handler that writes JSON itself.
	Response any
	// ContentType documents a Raw handler that writes text (a log, YAML, an event stream): the
	// success response is that media type holding a string, or the schema of Response when set.
	ContentType string
	// KubernetesErrors answers errors as Kubernetes Status objects (the proxy speaks the
	// Kubernetes API, and kubectl can show only a Status's message).
	KubernetesErrors bool
	// KubernetesAPI marks a route that is the Kubernetes API of the cluster its path names
	// (":id"), directly (the proxy) or in another form (cached lists, kinds, overview, apply).
	// These are the only routes a cluster-limited API token (minted with a kubeconfig) may
	// call, and only for its own cluster; the guards enforce it (guard.go, signedIn).
	KubernetesAPI bool
	// SelfAuthenticated marks a public route that authenticates the caller itself (a webhook
	// signature) and answers 401 when that fails.
	SelfAuthenticated bool
	Handler           Handler
}

// Deps are the services the API fronts.
type Deps struct {
	Identity   *identity.Service
	Authorizer *access.Authorizer
	Bindings   *access.Bindings
	Audit      *audit.Log
	Settings   SettingsServices
	Clusters   *cluster.Service
	Proxies    *kubeproxy.Proxies
	Resources  *resources.Browser
	// Streams tracks open long-lived requests so they end when their caller loses access.
	Streams *authchange.Streams
	// Runs starts pipeline runs and acts on them (nil: no run routes).
	Runs *run.Service
	// Events fans live updates out to Server-Sent Events clients.
	Events   *events.Hub
	Health   []HealthCheck
	Log      *slog.Logger
	Metrics  prometheus.Registerer
	Gatherer prometheus.Gatherer
	Version  VersionInfo
	// TrustedProxies are passed to gin: only they may set X-Forwarded-For.
	TrustedProxies []string
	// ServerURL, when set, is the public origin accepted by the CSRF check besides the Host.
	ServerURL string
	// TLSPort and ServingCA let minted kubeconfigs reach the HTTPS port (kubectl sends
	// credentials only over HTTPS) and trust its certificate.
	TLSPort   int
	ServingCA []byte
	// Console serves the embedded web console for paths outside the API (nil: none).
	Console http.Handler
	// Webhooks receive push webhooks (nil: 503).
	Webhooks *WebhookServices

	// PipelineWorkspaces manages pipeline workspaces and their pipelines.
	PipelineWorkspaces *workspace.Service

	// Spacelets serves the worker protocol, spacelet administration, job logs and plugins.
	Spacelets SpaceletServices
}

// VersionInfo is reported by GET /api/v1/version.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// API is the router and its route table.
type API struct {
	deps    Deps
	engine  *gin.Engine
	routes  []*Route
	metrics *metrics
	trusted []netip.Prefix
	doc     struct {
		once sync.Once
		json []byte
		err  error
	}
}

// New builds the API with every route registered.
func New(deps Deps) (*API, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// gin trusts every proxy by default; only configured proxies may set the client address.
	if err := e.SetTrustedProxies(deps.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	trusted, err := parseTrustedProxies(deps.TrustedProxies)
	if err != nil {
		return nil, err
	}
	a := &API{deps: deps, engine: e, trusted: trusted}
	if deps.Metrics != nil {
		a.metrics = newMetrics(deps.Metrics)
	}
	e.Use(a.recoverer(), a.requestLog(), a.securityHeaders())
	e.NoRoute(a.noRoute)
	e.NoMethod(methodNotAllowed)
	a.registerSystem()
	a.registerIdentity()
	a.registerAccess()
	a.registerAudit()
	a.registerSettings()
	a.registerClusters()
	a.registerResources()
	a.registerEvents()
	a.registerRuns()
	a.registerWebhooks()
	a.registerPipelines()
	a.registerSpaceletProtocol()
	a.registerSpaceletAdmin()
	return a, nil
}

// Handler returns the HTTP handler.
func (a *API) Handler() http.Handler { return a.engine }

// Routes returns the declared routes (for the OpenAPI document and tests).
func (a *API) Routes() []*Route { return a.routes }

func isMutating(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// register validates a declaration and mounts it.
func (a *API) register(r *Route) {
	if r.Guard == nil {
		panic(fmt.Sprintf("route %s %s declares no guard", r.Method, r.Path))
	}
	if r.Handler == nil {
		panic(fmt.Sprintf("route %s %s has no handler", r.Method, r.Path))
	}
	if _, raw := r.Handler.(rawHandler); !raw && isMutating(r.Method) && r.Resource == "" {
		panic(fmt.Sprintf("route %s %s mutates but names no audit resource", r.Method, r.Path))
	}
	if r.Action == "" {
		r.Action = map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodPatch: "update",
			http.MethodDelete: "delete", http.MethodGet: "read"}[r.Method]
	}
	if r.MaxBody == 0 {
		r.MaxBody = defaultMaxBody
	}
	_, out := r.Handler.types()
	if r.Status == 0 {
		r.Status = http.StatusOK
		if out == reflect.TypeOf(NoContent{}) {
			r.Status = http.StatusNoContent
		}
	}
	if _, raw := r.Handler.(rawHandler); !raw && r.Example != nil {
		in, _ := r.Handler.types()
		if reflect.TypeOf(r.Example) != in {
			panic(fmt.Sprintf("route %s %s: example is %T, input is %s", r.Method, r.Path, r.Example, in))
		}
	}
	if !strings.HasPrefix(r.Path, "/") {
		panic(fmt.Sprintf("route path %q must start with /", r.Path))
	}
	a.routes = append(a.routes, r)
	if r.Method == MethodAny {
		a.engine.Any(Prefix+r.Path, a.serve(r))
		return
	}
	a.engine.Handle(r.Method, Prefix+r.Path, a.serve(r))
}

// GinRoutes lists "METHOD path" for everything the router serves (for the route/document test).
func (a *API) GinRoutes() []string {
	var out []string
	for _, r := range a.engine.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// HandlerTypes returns a handler's input and output types.
func HandlerTypes(h Handler) (in, out reflect.Type) { return h.types() }
