package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// hstsMaxAge is how long browsers keep to HTTPS once they have seen the TLS port (one year).
const hstsMaxAge = 365 * 24 * 60 * 60

// securityHeaders adds the headers every response carries: HSTS on the TLS port (a browser that
// reached KubeSpace over HTTPS never falls back to plain HTTP), no MIME sniffing.
func (a *API) securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		if c.Request.TLS != nil {
			h.Set("Strict-Transport-Security", fmt.Sprintf("max-age=%d", hstsMaxAge))
		}
		h.Set("X-Content-Type-Options", "nosniff")
		c.Next()
	}
}

// parseTrustedProxies turns TRUSTED_PROXIES entries (IPs or CIDRs) into prefixes.
func parseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP nor a CIDR", e)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// fromTrustedProxy reports whether the request's peer is a configured proxy, whose
// X-Forwarded-* headers may then be believed.
func (a *API) fromTrustedProxy(req *http.Request) bool {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// scheme is how the client reached us: https on the TLS port or behind a trusted proxy that says
// so, http otherwise.
func (a *API) scheme(req *http.Request) string {
	if req.TLS != nil {
		return "https"
	}
	if a.fromTrustedProxy(req) && strings.EqualFold(req.Header.Get("X-Forwarded-Proto"), "https") {
		return "https"
	}
	return "http"
}

// sameOrigin reports whether origin is this server as the client reached it (scheme and host) or
// the configured public URL. A page served over plain HTTP is another origin than the HTTPS one:
// anybody on the network can script it.
func (a *API) sameOrigin(req *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, req.Host) && strings.EqualFold(u.Scheme, a.scheme(req)) {
		return true
	}
	if a.deps.ServerURL != "" {
		if s, err := url.Parse(a.deps.ServerURL); err == nil && strings.EqualFold(s.Host, u.Host) && strings.EqualFold(s.Scheme, u.Scheme) {
			return true
		}
	}
	return false
}
