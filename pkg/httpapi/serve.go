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
		a.audit(c, status, err)
	}
}

func (a *API) run(c *Call) (any, error) {
	r := c.route
	if hasBody(r.Method) {
		var err error
		c.body, err = io.ReadAll(http.MaxBytesReader(c.gin.Writer, c.gin.Request.Body, r.MaxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, errs.Invalidf("reading request body: %v", err)
		}
	}
	cookie, err := a.authenticate(c)
	if err != nil && !r.Guard.Requirement().Public {
		return nil, err
	}
	if (cookie && isMutating(r.Method)) || r.Guard.Requirement().Public && isMutating(r.Method) {
		if err := a.checkOrigin(c.gin.Request, cookie); err != nil {
			return nil, err
		}
	}
	scope, err := r.Guard.Authorize(c)
	if err != nil {
		return nil, err
	}
	c.scope, c.hasScope = scope, true
	return r.Handler.call(c)
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
	c.Principal = p
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
	if SameOrigin(req, origin, a.deps.ServerURL) {
		return nil
	}
	return errs.Forbiddenf("cross-site request refused: origin %q is not this server", origin).WithCode("csrf_refused")
}

// SameOrigin reports whether origin is the request's own host or the configured public URL.
func SameOrigin(req *http.Request, origin, serverURL string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, req.Host) {
		return true
	}
	if serverURL != "" {
		if s, err := url.Parse(serverURL); err == nil && strings.EqualFold(s.Host, u.Host) && s.Scheme == u.Scheme {
			return true
		}
	}
	return false
}

// audit records mutating calls, logins and denials.
func (a *API) audit(c *Call, status int, err error) {
	r := c.route
	denied := status == http.StatusForbidden
	if !isMutating(r.Method) && !denied {
		return
	}
	e := &store.AuditEvent{
		IP: c.gin.ClientIP(), RequestID: requestID(c.gin), Method: r.Method, Path: c.gin.Request.URL.Path,
		Action: r.Action, ResourceType: r.Resource, ResourceID: c.resourceID, ResourceName: c.resourceName,
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
