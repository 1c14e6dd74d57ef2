// Package kubeproxy forwards the Kubernetes API of a managed cluster — every verb, watches, logs,
// exec/attach and port-forward over websocket or SPDY — on behalf of a KubeSpace user, after
// checking the user's KubeSpace role for that very request. The client's own credentials never
// reach the cluster; KubeSpace's stored credentials do.
package kubeproxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// Proxies builds and caches one forwarding handler per cluster, so connections to each API
// server are pooled across requests. A handler is rebuilt when the cluster's configuration
// changes (the cluster service hands out a new *rest.Config then).
type Proxies struct {
	log     *slog.Logger
	mu      sync.Mutex
	handler map[int64]cached
}

type cached struct {
	config  *rest.Config
	handler *proxy.UpgradeAwareHandler
	// origin is the cluster server's scheme://host, sent as Origin on websocket upgrades.
	origin string
}

// New returns an empty proxy cache.
// New returns an empty proxy cache; failures to reach a cluster are logged to log.
func New(log *slog.Logger) *Proxies { return &Proxies{handler: map[int64]cached{}, log: log} }

// Forget drops the handler of a cluster that was deleted or got new credentials.
func (p *Proxies) Forget(clusterID int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.handler, clusterID)
}

// strippedHeaders never travel from the client to the cluster: the cluster sees KubeSpace's
// identity, and nothing the client sends may change that.
var strippedHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// Serve forwards req to the cluster described by cfg. apiPath is the Kubernetes path (with a
// leading slash); the query string is kept.
func (p *Proxies) Serve(w http.ResponseWriter, req *http.Request, clusterID int64, cfg *rest.Config, apiPath string, onError func(error)) {
	h, err := p.handlerFor(clusterID, cfg)
	if err != nil {
		onError(err)
		return
	}
	out := req.Clone(req.Context())
	out.URL.Path, out.URL.RawPath = apiPath, ""
	for _, name := range strippedHeaders {
		out.Header.Del(name)
	}
	for name := range out.Header {
		// Impersonation and front-proxy identity headers (X-Remote-User/Group/Extra-*).
		if l := strings.ToLower(name); strings.HasPrefix(l, "impersonate-") || strings.HasPrefix(l, "x-remote-") {
			out.Header.Del(name)
		}
	}
	// The browser's Origin names KubeSpace, not the cluster, and KubeSpace already checked it.
	// The API server ignores Origin except on websocket watches, whose handshake refuses a
	// request without one (403): those get the cluster's own origin, which it accepts.
	out.Header.Del("Origin")
	if wsstream.IsWebSocketRequest(out) {
		out.Header.Set("Origin", h.origin)
	}
	h.handler.ServeHTTP(w, out)
}

func (p *Proxies) handlerFor(clusterID int64, cfg *rest.Config) (cached, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.handler[clusterID]; ok && c.config == cfg {
		return c, nil
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return cached{}, fmt.Errorf("cluster server %q: %w", cfg.Host, err)
	}
	if target.Path != "" && target.Path != "/" {
		return cached{}, fmt.Errorf("cluster server %q: a path prefix is not supported by the proxy", cfg.Host)
	}
	// A root path of "/" (not "") keeps the handler from redirecting GET /api to /api/.
	target.Path = "/"
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return cached{}, err
	}
	upgrade, err := upgradeTransport(cfg)
	if err != nil {
		return cached{}, err
	}
	h := proxy.NewUpgradeAwareHandler(target, rt, false, false, responder{log: p.log, clusterID: clusterID})
	h.UpgradeTransport = upgrade
	h.UseRequestLocation = true
	h.UseLocationHost = true
	// Watches and log follows must reach the client as they happen.
	h.FlushInterval = -1
	// A redirect from a cluster must not walk the server to another host with our credentials.
	h.RejectForwardingRedirects = true
	c := cached{config: cfg, handler: h, origin: target.Scheme + "://" + target.Host}
	p.handler[clusterID] = c
	return c, nil
}

// upgradeTransport dials the API server over HTTP/1.1 (SPDY and websocket upgrades cannot ride
// HTTP/2) with the cluster's TLS settings and credentials.
func upgradeTransport(cfg *rest.Config) (proxy.UpgradeRequestRoundTripper, error) {
	tc, err := cfg.TransportConfig()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := transport.TLSConfigFor(tc)
	if err != nil {
		return nil, err
	}
	dial := (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if cfg.Dial != nil {
		dial = cfg.Dial
	}
	rt := &http.Transport{TLSClientConfig: tlsConfig, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dial(ctx, network, addr)
	}, Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second}
	wrapped, err := transport.HTTPWrappersForConfig(tc, proxy.MirrorRequest)
	if err != nil {
		return nil, err
	}
	return proxy.NewUpgradeRequestRoundTripper(rt, wrapped), nil
}

type responder struct {
	log       *slog.Logger
	clusterID int64
}

// Error answers a failure to reach the cluster as a Kubernetes-style Status, which kubectl prints.
// The transport's error goes to the log; the answer says what the user can do.
func (r responder) Error(w http.ResponseWriter, req *http.Request, err error) {
	r.log.WarnContext(req.Context(), "proxying to a cluster failed", "cluster_id", r.clusterID, "path", req.URL.Path, "error", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":502,"message":%q}`,
		fmt.Sprintf("KubeSpace could not reach the API server of cluster %d; check the cluster's status in KubeSpace, or ask an administrator to look at the server log", r.clusterID))
}
