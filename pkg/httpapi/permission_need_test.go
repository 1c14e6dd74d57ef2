package httpapi_test

import (
	"fmt"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

// permissionRule is one row of permissionTable.
type permissionRule struct {
	route string // "METHOD /path", as registered
	need  need
	ok    int // the status an allowed caller gets for the example input
}

// The kinds of scope a need names.
const (
	needPublic    = "public"
	needSignedIn  = "signed-in"
	needPlatform  = "platform"
	needObject    = "object"    // the scope of the object the path names
	needRequested = "requested" // the scope the request names
)

// need is who may call a route; see permissionTable for the vocabulary.
type need struct {
	kind string
	role access.Role
	// kubeAPI: the route is the cluster's Kubernetes API (a cluster-limited token may call it).
	kubeAPI bool
	// onlyWhy and onlyIf narrow the callers further (a check in the handler or service).
	onlyWhy string
	onlyIf  func(p persona) bool
	// declared, when set, is the guard's Requirement for a guard the kind does not describe.
	declared *httpapi.Requirement
}

var (
	public   = need{kind: needPublic}
	signedIn = need{kind: needSignedIn}
)

func platform(r access.Role) need      { return need{kind: needPlatform, role: r} }
func object(r access.Role) need        { return need{kind: needObject, role: r} }
func requested(r access.Role) need     { return need{kind: needRequested, role: r} }
func kubernetesAPI(r access.Role) need { return need{kind: needObject, role: r, kubeAPI: true} }

// only narrows n to the callers f accepts; why says who they are (for failure messages).
func (n need) only(why string, f func(p persona) bool) need {
	n.onlyWhy, n.onlyIf = why, f
	return n
}

// declares states the guard's Requirement for a guard the need's kind does not describe.
func (n need) declares(req httpapi.Requirement) need {
	n.declared = &req
	return n
}

// requirement is what the route's guard must declare.
func (n need) requirement() httpapi.Requirement {
	if n.declared != nil {
		return *n.declared
	}
	switch n.kind {
	case needPublic:
		return httpapi.Requirement{Public: true}
	case needSignedIn:
		return httpapi.Requirement{}
	case needPlatform:
		return httpapi.Requirement{Role: n.role, ScopeFrom: "platform"}
	case needObject:
		return httpapi.Requirement{Role: n.role, ScopeFrom: "resource"}
	case needRequested:
		return httpapi.Requirement{Role: n.role, ScopeFrom: "request"}
	}
	panic("unknown need kind " + n.kind)
}

func (n need) String() string {
	var s string
	switch n.kind {
	case needPublic, needSignedIn:
		s = n.kind
	case needPlatform:
		s = fmt.Sprintf("platform %s or above", n.role)
	case needObject:
		s = fmt.Sprintf("%s or above in the path's object's scope (the target cluster)", n.role)
	case needRequested:
		s = fmt.Sprintf("%s or above in the requested scope (the target cluster)", n.role)
	}
	if n.kubeAPI {
		s += ", Kubernetes API (cluster-limited tokens of that cluster too)"
	}
	if n.onlyWhy != "" {
		s += ", only " + n.onlyWhy
	}
	return s
}

// outcome is what a persona should get from a route.
type outcome int

const (
	allowed         outcome = iota
	unauthenticated         // 401
	forbidden               // 403
	tokenLimited            // 403, code token_limited
)

func (o outcome) String() string {
	return [...]string{"allowed", "unauthenticated (401)", "forbidden (403)", "refused as cluster-limited (403 token_limited)"}[o]
}

// expect is the outcome n gives persona p.
func (n need) expect(p persona) outcome {
	switch {
	case n.kind == needPublic:
		return allowed
	case p.anonymous || p.disabled || p.revoked:
		return unauthenticated
	case p.limited && !n.kubeAPI:
		return tokenLimited
	}
	var role access.Role
	switch n.kind {
	case needSignedIn:
		role = access.Admin // any signed-in caller passes
	case needPlatform:
		role = p.platformRole()
	case needObject, needRequested:
		role = p.targetRole()
	}
	if role < n.role || (n.onlyIf != nil && !n.onlyIf(p)) {
		return forbidden
	}
	return allowed
}

// persona is a kind of caller: the roles its user holds at every level there is.
type persona struct {
	name     string
	super    bool
	platform access.Role // on the platform
	target   access.Role // in the target cluster (the one the requests name)
	other    access.Role // in another cluster
	// How it calls: without credentials, as a disabled user, with a revoked API token, or
	// with a token minted by POST /clusters/:id/kubeconfig for the target cluster.
	anonymous, disabled, revoked, limited bool
}

func (p persona) platformRole() access.Role {
	if p.super {
		return access.Admin
	}
	if p.limited {
		return access.None // a limited token acts in its cluster only
	}
	return p.platform
}

func (p persona) targetRole() access.Role {
	return max(p.platformRole(), p.target) // a platform role applies in every scope
}

// hasPlatformRole reports whether p holds a role on the platform.
func hasPlatformRole(p persona) bool { return p.platformRole() >= access.Viewer }

// adminSomewhere reports whether p administers at least one scope.
func adminSomewhere(p persona) bool {
	return p.platformRole() == access.Admin || p.target == access.Admin || p.other == access.Admin
}

// personas hold roles at every level that exists. The disabled user and the revoked token
// belong to platform admins, so their 401 is not a missing role.
var personas = []persona{
	{name: "anonymous", anonymous: true},
	{name: "super-admin", super: true},
	{name: "platform-viewer", platform: access.Viewer},
	{name: "platform-editor", platform: access.Editor},
	{name: "platform-admin", platform: access.Admin},
	{name: "cluster-viewer", target: access.Viewer},
	{name: "cluster-editor", target: access.Editor},
	{name: "cluster-admin", target: access.Admin},
	{name: "other-cluster-viewer", other: access.Viewer},
	{name: "other-cluster-editor", other: access.Editor},
	{name: "other-cluster-admin", other: access.Admin},
	// Minted by a cluster admin of the target: the strongest a limited token gets.
	{name: "cluster-limited-token", target: access.Admin, limited: true},
	{name: "disabled-user", platform: access.Admin, disabled: true},
	{name: "revoked-token", platform: access.Admin, revoked: true},
}
