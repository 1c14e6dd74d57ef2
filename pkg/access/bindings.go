package access

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Bindings manages role bindings: who may grant what, where.
type Bindings struct {
	auth     *Authorizer
	bindings store.RoleBindings
	users    store.Users
	notify   authchange.Notifier
}

// NewBindings returns the role binding service; notify hears of every change to a user's roles.
func NewBindings(auth *Authorizer, bindings store.RoleBindings, users store.Users, notify authchange.Notifier) *Bindings {
	return &Bindings{auth: auth, bindings: bindings, users: users, notify: notify}
}

// GrantInput is a request to grant a role.
type GrantInput struct {
	UserID  int64  `json:"user_id" required:"true"`
	Scope   string `json:"scope" required:"true" enum:"platform,cluster,workspace,pipeline_workspace"`
	ScopeID int64  `json:"scope_id"`
	Role    string `json:"role" required:"true" enum:"viewer,editor,admin"`
}

// Grant creates a binding. The caller must be an admin of the scope and may not grant a role
// above their own there.
func (s *Bindings) Grant(ctx context.Context, p *Principal, in GrantInput) (*store.RoleBinding, error) {
	fields := errs.Fields{}
	if in.UserID <= 0 {
		fields.Add("user_id", "is required")
	}
	role, err := ParseRole(in.Role)
	if err != nil {
		fields.Add("role", "must be viewer, editor or admin")
	}
	scope, err := ParseScope(in.Scope, in.ScopeID)
	if err != nil {
		if e, ok := errs.As(err); ok {
			field := "scope"
			if in.Scope != "" && (in.Scope == store.ScopePlatform || in.Scope == store.ScopeCluster || in.Scope == store.ScopeWorkspace || in.Scope == store.ScopePipelineWorkspace) {
				field = "scope_id"
			}
			fields.Add(field, "%s", e.Message)
		}
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	if err := s.auth.Exists(ctx, scope); err != nil {
		return nil, err
	}
	own, err := s.auth.RoleIn(ctx, p, scope)
	if err != nil {
		return nil, err
	}
	if own < Admin {
		return nil, errs.Forbiddenf("granting roles requires the admin role in %s", scope)
	}
	if role > own {
		return nil, errs.Forbiddenf("cannot grant %s above your own role (%s) in %s", role, own, scope)
	}
	u, err := s.users.Get(ctx, in.UserID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Unprocessablef("user %d does not exist", in.UserID)
		}
		return nil, err
	}
	b := &store.RoleBinding{UserID: u.ID, Scope: scope.Kind, ScopeID: scope.ID, Role: role.String(), CreatedBy: p.User.ID}
	if err := s.bindings.Create(ctx, b); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("user %q already has a role in %s; revoke it first", u.Username, scope).WithCode("binding_exists")
		}
		return nil, fmt.Errorf("create role binding: %w", err)
	}
	b.Username = u.Username
	s.notify.Changed(ctx, u.ID)
	return b, nil
}

// ScopeOfBinding returns the scope a binding belongs to (for authorizing its revocation).
func (s *Bindings) ScopeOfBinding(ctx context.Context, id int64) (Scope, error) {
	b, err := s.bindings.Get(ctx, id)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Kind: b.Scope, ID: b.ScopeID}, nil
}

// Revoke deletes a binding; the caller must be an admin of its scope and outrank or equal it.
func (s *Bindings) Revoke(ctx context.Context, p *Principal, id int64) (*store.RoleBinding, error) {
	b, err := s.bindings.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	scope := Scope{Kind: b.Scope, ID: b.ScopeID}
	own, err := s.auth.RoleIn(ctx, p, scope)
	if err != nil {
		return nil, err
	}
	role, _ := ParseRole(b.Role)
	if own < Admin || role > own {
		return nil, errs.Forbiddenf("revoking this binding requires the admin role in %s", scope)
	}
	if err := s.bindings.Delete(ctx, id); err != nil {
		return nil, err
	}
	s.notify.Changed(ctx, b.UserID)
	return b, nil
}

// List lists bindings in one scope, or every binding for the platform's viewers when scope is
// the zero value.
func (s *Bindings) List(ctx context.Context, scope *Scope, opts store.ListOptions) (store.Page[store.RoleBinding], error) {
	f := store.RoleBindingFilter{}
	if scope != nil {
		f.Scope = scope.Kind
		id := scope.ID
		f.ScopeID = &id
	}
	return s.bindings.List(ctx, f, opts)
}

// RemoveScope deletes every binding in a scope whose object is being deleted; call it inside the
// transaction that deletes the object, so no binding outlives it (an id may be reused). Callers
// report the change (authchange.Everyone) once the transaction has committed.
func (s *Bindings) RemoveScope(ctx context.Context, scope Scope) error {
	return s.bindings.DeleteByScope(ctx, scope.Kind, scope.ID)
}
