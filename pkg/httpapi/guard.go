package httpapi

import (
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
)

// Requirement describes what a guard asks of the caller, for the OpenAPI document and the
// permission matrix test.
type Requirement struct {
	Public bool        `json:"public,omitempty"`
	Role   access.Role `json:"-"`
	// ScopeFrom says where the scope is derived from: "platform", "resource" (the object the
	// path names) or "request" (the scope object named in the query or body, checked to exist).
	ScopeFrom string `json:"scope_from,omitempty"`
}

// Guard authorizes a call before its handler runs and returns the scope the call acts in.
type Guard interface {
	Authorize(c *Call) (access.Scope, error)
	Requirement() Requirement
}

var errLogin = errs.Unauthenticatedf("authentication required: log in or send an API token").WithCode("unauthenticated")

type publicGuard struct{}

// Public lets anyone call the route.
func Public() Guard { return publicGuard{} }

func (publicGuard) Authorize(*Call) (access.Scope, error) { return access.Platform, nil }
func (publicGuard) Requirement() Requirement              { return Requirement{Public: true} }

type authenticatedGuard struct{}

// Authenticated lets any signed-in user call the route; the service limits what they reach
// (their own tokens, their own password).
func Authenticated() Guard { return authenticatedGuard{} }

func (authenticatedGuard) Authorize(c *Call) (access.Scope, error) {
	if err := signedIn(c); err != nil {
		return access.Scope{}, err
	}
	return access.Platform, nil
}

// signedIn is where every guard but Public starts: it refuses anonymous calls, and keeps a
// cluster-limited API token (minted with a kubeconfig) to the Kubernetes API of its cluster —
// routes declared KubernetesAPI whose path names that cluster. Everything else (role bindings
// even in its own cluster, cluster edits, audit, more tokens) is refused here, in one place,
// before any role is looked at.
func signedIn(c *Call) error {
	if c.Principal == nil {
		return errLogin
	}
	if limit := c.Principal.ClusterID; limit != 0 && !(c.route.KubernetesAPI && c.id == limit) {
		return errs.Forbiddenf("this API token is limited to the Kubernetes API of cluster %d", limit).WithCode("token_limited")
	}
	return nil
}
func (authenticatedGuard) Requirement() Requirement { return Requirement{} }

type platformGuard struct {
	auth *access.Authorizer
	role access.Role
}

// PlatformRole requires a platform-wide role.
func (a *API) PlatformRole(role access.Role) Guard {
	return platformGuard{auth: a.deps.Authorizer, role: role}
}

func (g platformGuard) Authorize(c *Call) (access.Scope, error) {
	if err := signedIn(c); err != nil {
		return access.Scope{}, err
	}
	return access.Platform, g.auth.Require(c.Ctx, c.Principal, access.Platform, g.role)
}
func (g platformGuard) Requirement() Requirement {
	return Requirement{Role: g.role, ScopeFrom: "platform"}
}

// ScopeResolver derives the scope from the request on the server side: from the object the path
// names, or from the scope object named in the request (checked to exist).
type ScopeResolver func(c *Call) (access.Scope, error)

type scopedGuard struct {
	auth    *access.Authorizer
	role    access.Role
	from    string
	resolve ScopeResolver
}

// ResourceRole requires role in the scope of the object the path names.
func (a *API) ResourceRole(role access.Role, resolve ScopeResolver) Guard {
	return scopedGuard{auth: a.deps.Authorizer, role: role, from: "resource", resolve: resolve}
}

// RequestRole requires role in the scope object named by the request.
func (a *API) RequestRole(role access.Role, resolve ScopeResolver) Guard {
	return scopedGuard{auth: a.deps.Authorizer, role: role, from: "request", resolve: resolve}
}

func (g scopedGuard) Authorize(c *Call) (access.Scope, error) {
	if err := signedIn(c); err != nil {
		return access.Scope{}, err
	}
	s, err := g.resolve(c)
	if err != nil {
		// A caller without any role must not learn whether an object exists.
		if errs.Is(err, errs.NotFound) {
			r, rerr := g.auth.RoleIn(c.Ctx, c.Principal, access.Platform)
			if rerr != nil {
				// Not knowing the caller's role is an outage, never a denial.
				return access.Scope{}, rerr
			}
			if r < access.Viewer {
				return access.Scope{}, errs.Forbiddenf("requires the %s role", g.role)
			}
		}
		return access.Scope{}, err
	}
	return s, g.auth.Require(c.Ctx, c.Principal, s, g.role)
}
func (g scopedGuard) Requirement() Requirement { return Requirement{Role: g.role, ScopeFrom: g.from} }
