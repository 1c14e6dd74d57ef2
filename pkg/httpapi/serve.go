package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/audit"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// SessionCookie is the name of the HttpOnly session cookie.
const SessionCookie = "kubespace_session"

// serve runs one route: read the bounded body, authenticate, check origin, authorize, decode,
// handle, respond, audit — in that order, for every route alike.
func (a *API) serve(r *Route) gin.HandlerFunc {
	return func(g *gin.Context) {
		c := &Call{Ctx: g.Request.Context(), gin: g, route: r}
		if raw, ok := r.Handler.(rawHandler); ok {
			a.serveRaw(c, raw)
			return
		}
		out, err := a.run(c)
		status := r.Status
		if err != nil {
			status = HTTPStatus(err)
			writeError(g, a.deps.Log, err)
		} else if status == http.StatusNoContent {
			g.Status(status)
		} else {
			g.JSON(status, out)
		}
		if isMutating(r.Method) || status == http.StatusForbidden {
			a.audit(c, status, err)
		}
	}
}

// serveRaw runs a route whose handler writes its own response (the Kubernetes proxy). It is
// audited when the handler asks for it (c.Record) or when it was refused.
func (a *API) serveRaw(c *Call, raw rawHandler) {
	err := a.prepare(c, c.gin.Request.Method)
	if err == nil {
		err = raw.fn(c)
	}
	status := c.gin.Writer.Status()
	if err != nil {
		if c.gin.Writer.Written() {
			a.deps.Log.WarnContext(c.Ctx, "streaming response failed", "error", err, "request_id", requestID(c.gin))
		} else if c.route.KubernetesErrors {
			status = writeKubeStatus(c.gin, a.deps.Log, err)
		} else {
			status = HTTPStatus(err)
			writeError(c.gin, a.deps.Log, err)
		}
	}
	if c.record || status == http.StatusForbidden {
		a.audit(c, status, err)
	}
}

func (a *API) run(c *Call) (any, error) {
	r := c.route
	if hasBody(r.Method) {
		var err error
		c.body, err = io.ReadAll(http.MaxBytesReader(c.gin.Writer, c.gin.Request.Body, r.MaxBody))
		if err != nil {
			// Refused before anything else; authenticated only so the audit log names the sender.
			_, _ = a.authenticate(c)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, errs.Invalidf("reading request body: %v", err)
		}
	}
	if err := a.prepare(c, r.Method); err != nil {
		return nil, err
	}
	return r.Handler.call(c)
}

// prepare authenticates, checks the origin of cookie-borne writes and websocket upgrades, and
// runs the route's guard.
func (a *API) prepare(c *Call, method string) error {
	r := c.route
	cookie, err := a.authenticate(c)
	if err != nil && !r.Guard.Requirement().Public {
		return err
	}
	upgrade := strings.EqualFold(c.gin.GetHeader("Connection"), "upgrade") || c.gin.GetHeader("Upgrade") != ""
	if (cookie && (isMutating(method) || upgrade)) || (r.Guard.Requirement().Public && isMutating(method)) {
		if err := a.checkOrigin(c.gin.Request, cookie); err != nil {
			return err
		}
	} else if upgrade && c.gin.GetHeader("Origin") != "" {
		// A browser opening a websocket with a token still must not come from another site.
		if err := a.checkOrigin(c.gin.Request, false); err != nil {
			return err
		}
	}
	if strings.Contains(r.Path, "/:id") {
		if c.id, err = c.ID("id"); err != nil {
			return err
		}
	}
	scope, err := r.Guard.Authorize(c)
	if err != nil {
		return err
	}
	c.scope, c.hasScope = scope, true
	return nil
}

// authenticate finds the caller from a bearer token or the session cookie. It reports whether
// the cookie was used (cookie-authenticated writes need the origin check).
func (a *API) authenticate(c *Call) (cookie bool, err error) {
	req := c.gin.Request
	token := ""
	if h := req.Header.Get("Authorization"); h != "" {
		scheme, value, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
			return false, errs.Unauthenticatedf("Authorization header must be \"Bearer <token>\"")
		}
		token = strings.TrimSpace(value)
	} else if ck, err := req.Cookie(SessionCookie); err == nil && ck.Value != "" {
		token, cookie = ck.Value, true
	}
	if token == "" {
		return false, errLogin
	}
	p, err := a.deps.Identity.Authenticate(c.Ctx, token)
	if err != nil {
		return cookie, err
	}
	c.Principal, c.token = p, token
	setLogUser(c.gin, p.User)
	return cookie, nil
}

// checkOrigin refuses cross-site writes riding on the session cookie: the Origin (or Referer)
// must be this server's own origin. Browsers always send Origin on cross-origin writes.
func (a *API) checkOrigin(req *http.Request, required bool) error {
	origin := req.Header.Get("Origin")
	if origin == "" {
		if ref := req.Header.Get("Referer"); ref != "" {
			if u, err := url.Parse(ref); err == nil {
				origin = u.Scheme + "://" + u.Host
			}
		}
	}
	if origin == "" {
		if required {
			return errs.Forbiddenf("cookie-authenticated writes must send an Origin header").WithCode("csrf_refused")
		}
		return nil // a non-browser client (curl, kubectl) on a public route
	}
	if a.sameOrigin(req, origin) {
		return nil
	}
	return errs.Forbiddenf("cross-site request refused: origin %q is not this server", origin).WithCode("csrf_refused")
}

// audit records a call: mutating calls, logins, denials and what raw handlers ask for.
func (a *API) audit(c *Call, status int, err error) {
	r := c.route
	action, resource := r.Action, r.Resource
	if c.action != "" {
		action = c.action
	}
	if c.resourceType != "" {
		resource = c.resourceType
	}
	e := &store.AuditEvent{
		IP: c.gin.ClientIP(), RequestID: requestID(c.gin), Method: c.gin.Request.Method, Path: c.gin.Request.URL.Path,
		Action: action, ResourceType: resource, ResourceID: c.resourceID, ResourceName: c.resourceName,
		StatusCode: status, Result: store.ResultSuccess, Summary: audit.Summarize(c.body),
	}
	if e.ResourceType == "" {
		e.ResourceType = r.Tag
	}
	if e.ResourceID == "" {
		e.ResourceID = c.gin.Param("id")
	}
	if err != nil {
		e.Result = store.ResultFailure
		_, b := body(err, e.RequestID)
		e.Summary = strings.TrimSpace(b.Message + " " + e.Summary)
	}
	if c.hasScope {
		e.Scope, e.ScopeID = c.scope.Kind, c.scope.ID
	} else {
		e.Scope = access.Platform.Kind
	}
	switch {
	case c.Principal != nil:
		e.UserID, e.Username = c.Principal.User.ID, c.Principal.User.Username
	case c.actorName != "":
		e.UserID, e.Username = c.actorID, c.actorName
	}
	a.deps.Audit.Record(c.Ctx, e)
}
