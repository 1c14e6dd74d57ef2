package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// ScopeQuery names an optional scope in a query string.
type ScopeQuery struct {
	Scope   string `query:"scope" json:"scope,omitempty" enum:"platform,cluster,workspace,pipeline_workspace"`
	ScopeID *int64 `query:"scope_id" json:"scope_id,omitempty"`
}

// RoleBindingQuery filters role bindings.
type RoleBindingQuery struct {
	ScopeQuery
	ListQuery
}

// scopeFromQuery resolves the scope named in the query (the platform when none is named) and
// checks that it exists.
func (a *API) scopeFromQuery(c *Call) (access.Scope, error) {
	q := c.gin.Request.URL.Query()
	var sq ScopeQuery
	if err := decodeQuery(q, &sq); err != nil {
		return access.Scope{}, err
	}
	if sq.Scope == "" {
		if sq.ScopeID != nil {
			return access.Scope{}, errs.Field("scope", "is required with scope_id")
		}
		return access.Platform, nil
	}
	var id int64
	if sq.ScopeID != nil {
		id = *sq.ScopeID
	}
	s, err := parseScope(sq.Scope, id)
	if err != nil {
		return access.Scope{}, err
	}
	return s, a.deps.Authorizer.Exists(c.Ctx, s)
}

// scopeFromBody resolves the scope named by a JSON body's scope and scope_id fields.
func (a *API) scopeFromBody(c *Call) (access.Scope, error) {
	var b struct {
		Scope   string `json:"scope"`
		ScopeID int64  `json:"scope_id"`
	}
	if err := json.Unmarshal(c.body, &b); err != nil {
		return access.Scope{}, jsonError(err)
	}
	s, err := parseScope(b.Scope, b.ScopeID)
	if err != nil {
		return access.Scope{}, err
	}
	return s, a.deps.Authorizer.Exists(c.Ctx, s)
}

// parseScope is access.ParseScope with the problem attributed to the scope or scope_id field.
func parseScope(kind string, id int64) (access.Scope, error) {
	s, err := access.ParseScope(kind, id)
	if err != nil {
		field := "scope_id"
		if !slices.Contains(access.ScopeKinds, kind) {
			field = "scope"
		}
		msg := err.Error()
		if e, ok := errs.As(err); ok {
			msg = e.Message
		}
		return s, errs.Field(field, "%s", msg)
	}
	return s, nil
}

func (a *API) registerAccess() {
	b := a.deps.Bindings
	a.register(&Route{Method: http.MethodGet, Path: "/role-bindings", Tag: "role-bindings",
		Summary: "List role bindings in a scope (every binding when no scope is named)",
		Guard:   a.RequestRole(access.Viewer, a.scopeFromQuery),
		Example: RoleBindingQuery{ScopeQuery: ScopeQuery{Scope: "platform", ScopeID: ptr(int64(0))}},
		Handler: Do(func(c *Call, q *RoleBindingQuery) (List[store.RoleBinding], error) {
			var scope *access.Scope
			if q.Scope != "" {
				scope = &c.scope
			}
			p, err := b.List(c.Ctx, scope, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/role-bindings", Tag: "role-bindings",
		Summary: "Grant a user a role in a scope (needs admin there; never above your own role)",
		Guard:   a.RequestRole(access.Admin, a.scopeFromBody), Resource: "role_binding", Status: http.StatusCreated,
		Example: access.GrantInput{UserID: 2, Scope: "platform", ScopeID: 0, Role: "viewer"},
		Handler: Do(func(c *Call, in *access.GrantInput) (*store.RoleBinding, error) {
			rb, err := b.Grant(c.Ctx, c.Principal, *in)
			if err == nil {
				c.Audit(rb.ID, rb.Username+" "+rb.Role)
			}
			return rb, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/role-bindings/:id", Tag: "role-bindings", Summary: "Revoke a role binding",
		Guard: a.ResourceRole(access.Admin, func(c *Call) (access.Scope, error) {
			id := c.PathID()
			return b.ScopeOfBinding(c.Ctx, id)
		}), Resource: "role_binding",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			id := c.PathID()
			rb, err := b.Revoke(c.Ctx, c.Principal, id)
			if err == nil {
				c.Audit(rb.ID, rb.Role)
			}
			return NoContent{}, err
		})})
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	ScopeQuery
	ListQuery
	Username     string     `query:"username" json:"username,omitempty"`
	Action       string     `query:"action" json:"action,omitempty"`
	ResourceType string     `query:"resource_type" json:"resource_type,omitempty"`
	Result       string     `query:"result" json:"result,omitempty" enum:"success,failure"`
	Since        *time.Time `query:"since" json:"since,omitempty"`
	Until        *time.Time `query:"until" json:"until,omitempty"`
}

func (a *API) registerAudit() {
	a.register(&Route{Method: http.MethodGet, Path: "/audit-events", Tag: "audit",
		Summary: "Query the audit log (platform viewers see everything; scope viewers their scope)",
		Guard:   a.RequestRole(access.Viewer, a.scopeFromQuery),
		Example: AuditQuery{Action: "create", Result: "success"},
		Handler: Do(func(c *Call, q *AuditQuery) (List[store.AuditEvent], error) {
			f := store.AuditFilter{Username: q.Username, Action: q.Action, ResourceType: q.ResourceType,
				Result: q.Result, Since: q.Since, Until: q.Until}
			if q.Scope != "" {
				f.Scope = c.scope.Kind
				id := c.scope.ID
				f.ScopeID = &id
			}
			p, err := a.deps.Audit.List(c.Ctx, f, q.options())
			return listOf(p), err
		})})
}
