// Package access decides who may do what. A user holds roles (viewer < editor < admin) in scopes
// (the platform, a cluster, a workspace, a pipeline workspace) through role bindings; a super admin
// holds every role everywhere. A platform role applies in every scope, and a scope may inherit
// roles from a parent scope (a workspace from its cluster), declared by the package that owns it.
package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Role is a rank; the zero Role is "no role".
type Role int

// The roles, in increasing order of power.
const (
	None Role = iota
	Viewer
	Editor
	Admin
)

var roleNames = []string{"none", store.RoleViewer, store.RoleEditor, store.RoleAdmin}

// String returns the role's name as used in the API.
func (r Role) String() string {
	if r < None || r > Admin {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole parses viewer, editor or admin.
func ParseRole(s string) (Role, error) {
	for r := Viewer; r <= Admin; r++ {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return None, errs.Invalidf("unknown role %q: must be viewer, editor or admin", s)
}

// Scope names one object roles are granted on; the platform has ID 0.
type Scope struct {
	Kind string `json:"scope"`
	ID   int64  `json:"scope_id"`
}

// Platform is the platform scope.
var Platform = Scope{Kind: store.ScopePlatform}

func (s Scope) String() string {
	if s.Kind == store.ScopePlatform {
		return "the platform"
	}
	return fmt.Sprintf("%s %d", s.Kind, s.ID)
}

// ScopeKinds lists every scope kind, in order.
var ScopeKinds = []string{store.ScopePlatform, store.ScopeCluster, store.ScopeWorkspace, store.ScopePipelineWorkspace}

// ParseScope validates a scope kind and id as sent by a client.
func ParseScope(kind string, id int64) (Scope, error) {
	switch kind {
	case store.ScopePlatform:
		if id != 0 {
			return Scope{}, errs.Invalidf("scope_id must be 0 for the platform scope")
		}
	case store.ScopeCluster, store.ScopeWorkspace, store.ScopePipelineWorkspace:
		if id <= 0 {
			return Scope{}, errs.Invalidf("scope_id must be a positive id for scope %s", kind)
		}
	default:
		return Scope{}, errs.Invalidf("unknown scope %q: must be platform, cluster, workspace or pipeline_workspace", kind)
	}
	return Scope{Kind: kind, ID: id}, nil
}

// ScopeKind is what the package owning a kind of scope object tells access about it.
type ScopeKind interface {
	// Name returns the object's display name, or errs.NotFound when it does not exist.
	Name(ctx context.Context, id int64) (string, error)
	// Parent returns the scope this one inherits roles from, if any.
	Parent(ctx context.Context, id int64) (Scope, bool, error)
}

// Principal is an authenticated caller.
type Principal struct {
	User *store.User
	// SessionID or TokenID says how the caller authenticated (one of them is set).
	SessionID int64
	TokenID   int64
	// ClusterID limits a cluster-scoped API token to one cluster (0: unlimited).
	ClusterID int64

	once     sync.Once
	bindings []store.RoleBinding
	err      error
}

// Authorizer answers role questions from role bindings. It is safe for concurrent use.
//
// Each user's bindings are cached per process: every request would otherwise cost a query. A
// change to a user's bindings must be reported with Forget (authchange delivers it on every
// replica); entries also expire after the cache TTL, which bounds the effect of a lost nudge.
type Authorizer struct {
	bindings store.RoleBindings
	ttl      time.Duration
	now      func() time.Time
	mu       sync.RWMutex
	kinds    map[string]ScopeKind
	cache    map[int64]cachedBindings
	// gen counts Forget calls, so a load that raced with a Forget is not cached.
	gen uint64
}

type cachedBindings struct {
	bindings []store.RoleBinding
	loaded   time.Time
}

// maxCachedUsers bounds the binding cache; past it the cache starts over.
const maxCachedUsers = 10000

// NewAuthorizer returns an Authorizer over the role binding store caching each user's bindings
// for ttl (0: no cache).
func NewAuthorizer(bindings store.RoleBindings, ttl time.Duration) *Authorizer {
	return &Authorizer{bindings: bindings, ttl: ttl, now: time.Now, kinds: map[string]ScopeKind{}, cache: map[int64]cachedBindings{}}
}

// Forget drops the cached bindings of a user (0: of every user).
func (a *Authorizer) Forget(userID int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	if userID == 0 {
		clear(a.cache)
		return
	}
	delete(a.cache, userID)
}

// load returns a user's bindings from the cache or the store.
func (a *Authorizer) load(ctx context.Context, userID int64) ([]store.RoleBinding, error) {
	if a.ttl <= 0 {
		return a.bindings.ListByUser(ctx, userID)
	}
	now := a.now()
	a.mu.RLock()
	c, ok := a.cache[userID]
	gen := a.gen
	a.mu.RUnlock()
	if ok && now.Sub(c.loaded) < a.ttl {
		return c.bindings, nil
	}
	bs, err := a.bindings.ListByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.gen == gen {
		if len(a.cache) >= maxCachedUsers {
			clear(a.cache)
		}
		a.cache[userID] = cachedBindings{bindings: bs, loaded: now}
	}
	a.mu.Unlock()
	return bs, nil
}

// RegisterKind declares a kind of scope object; called once at wiring time by the owning service.
func (a *Authorizer) RegisterKind(kind string, k ScopeKind) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kinds[kind] = k
}

func (a *Authorizer) kind(kind string) (ScopeKind, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	k, ok := a.kinds[kind]
	return k, ok
}

// Exists checks that a scope names an existing object, returning errs.NotFound otherwise.
func (a *Authorizer) Exists(ctx context.Context, s Scope) error {
	if s.Kind == store.ScopePlatform {
		return nil
	}
	k, ok := a.kind(s.Kind)
	if !ok {
		// No package manages this kind in this build, so no such object can exist.
		return errs.NotFoundf("%s not found", s)
	}
	_, err := k.Name(ctx, s.ID)
	return err
}

func (a *Authorizer) bindingsOf(ctx context.Context, p *Principal) ([]store.RoleBinding, error) {
	// A principal lives for one request: its bindings are loaded once per request.
	p.once.Do(func() { p.bindings, p.err = a.load(ctx, p.User.ID) })
	return p.bindings, p.err
}

// RoleIn returns the caller's effective role in scope s.
func (a *Authorizer) RoleIn(ctx context.Context, p *Principal, s Scope) (Role, error) {
	if p == nil || p.User == nil {
		return None, nil
	}
	if p.ClusterID != 0 && !(s.Kind == store.ScopeCluster && s.ID == p.ClusterID) {
		// A token minted for one cluster's kubeconfig acts nowhere else.
		return None, nil
	}
	if p.User.IsSuper {
		return Admin, nil
	}
	bs, err := a.bindingsOf(ctx, p)
	if err != nil {
		return None, fmt.Errorf("load role bindings: %w", err)
	}
	best := None
	for seen := 0; seen < 8; seen++ { // bounded walk up the scope tree
		for _, b := range bs {
			if (b.Scope == s.Kind && b.ScopeID == s.ID) || b.Scope == store.ScopePlatform {
				if r, err := ParseRole(b.Role); err == nil && r > best {
					best = r
				}
			}
		}
		k, ok := a.kind(s.Kind)
		if !ok || s.Kind == store.ScopePlatform {
			break
		}
		parent, has, err := k.Parent(ctx, s.ID)
		if err != nil {
			return None, err
		}
		if !has {
			break
		}
		s = parent
	}
	return best, nil
}

// Require returns errs.Forbidden unless the caller holds at least role in scope s.
func (a *Authorizer) Require(ctx context.Context, p *Principal, s Scope, role Role) error {
	got, err := a.RoleIn(ctx, p, s)
	if err != nil {
		return err
	}
	if got < role {
		return errs.Forbiddenf("requires the %s role in %s", role, s)
	}
	return nil
}

// Permission is one role a user holds, as shown to the user.
type Permission struct {
	Scope   string `json:"scope"`
	ScopeID int64  `json:"scope_id"`
	Role    string `json:"role"`
}

// Permissions lists the caller's bindings (for the console to hide what it cannot do).
func (a *Authorizer) Permissions(ctx context.Context, p *Principal) ([]Permission, error) {
	bs, err := a.bindingsOf(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Permission, 0, len(bs))
	for _, b := range bs {
		out = append(out, Permission{Scope: b.Scope, ScopeID: b.ScopeID, Role: b.Role})
	}
	return out, nil
}
