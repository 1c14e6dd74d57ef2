// Package store defines KubeSpace's persistent records and the small per-entity interfaces that
// services use to read and write them. The GORM implementation lives in store/database and is
// wired in cmd/; services depend only on these interfaces.
//
// Errors: implementations return errs.NotFound for a missing row and errs.Conflict for a unique
// constraint violation, already translated, so callers never see driver errors.
package store

import (
	"context"
	"time"
)

// Transactor runs fn in one database transaction. Store calls made with the ctx passed to fn take
// part in it; the transaction commits when fn returns nil and rolls back otherwise. Nested calls
// join the outer transaction.
type Transactor interface {
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// ListOptions selects one page of a list. Sort names a field from the entity's sortable set,
// prefixed with "-" for descending; Continue is the opaque cursor returned with the previous page.
type ListOptions struct {
	Limit    int
	Continue string
	Sort     string
	Query    string // case-insensitive substring search over the entity's searchable fields
}

// Page is one page of a list. Continue is empty on the last page.
type Page[T any] struct {
	Items    []T
	Total    int64
	Continue string
}

// Store groups every entity store; cmd/ builds one from a database and passes its parts on.
type Store struct {
	Tx            Transactor
	Users         Users
	Sessions      Sessions
	Tokens        Tokens
	RoleBindings  RoleBindings
	Audit         AuditEvents
	Secrets       Secrets
	Registries    ImageRegistries
	LoginAttempts LoginAttempts
	Clusters      Clusters
	// Ping reports whether the database answers (for /readyz).
	Ping func(ctx context.Context) error
}

// Users stores platform users.
type Users interface {
	Create(ctx context.Context, u *User) error
	Get(ctx context.Context, id int64) (*User, error)
	GetByUsername(ctx context.Context, username string) (*User, error)
	// Update saves every field of u (matched by ID).
	Update(ctx context.Context, u *User) error
	Delete(ctx context.Context, id int64) error
	// List sorts by id (default), username, created_at or last_login_at; Query matches username,
	// email and display name.
	List(ctx context.Context, opts ListOptions) (Page[User], error)
	// CountActiveSupers counts active super admins, locking their rows inside a transaction so
	// two concurrent demotions cannot both see "one left".
	CountActiveSupers(ctx context.Context) (int64, error)
	// Count counts all users.
	Count(ctx context.Context) (int64, error)
}

// Sessions stores login sessions, found by the SHA-256 of their token.
type Sessions interface {
	Create(ctx context.Context, s *Session) error
	GetByHash(ctx context.Context, tokenHash string) (*Session, error)
	Touch(ctx context.Context, id int64, at time.Time) error
	Delete(ctx context.Context, id int64) error
	DeleteByUser(ctx context.Context, userID int64) error
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// Tokens stores API tokens, found by the SHA-256 of their secret.
type Tokens interface {
	Create(ctx context.Context, t *APIToken) error
	Get(ctx context.Context, id int64) (*APIToken, error)
	GetByHash(ctx context.Context, tokenHash string) (*APIToken, error)
	ListByUser(ctx context.Context, userID int64, opts ListOptions) (Page[APIToken], error)
	Touch(ctx context.Context, id int64, at time.Time) error
	Delete(ctx context.Context, id int64) error
	DeleteByUser(ctx context.Context, userID int64) error
	// DeleteByCluster deletes the tokens limited to a cluster (minted for its kubeconfigs).
	DeleteByCluster(ctx context.Context, clusterID int64) error
}

// RoleBindings stores who holds which role in which scope.
type RoleBindings interface {
	Create(ctx context.Context, b *RoleBinding) error
	Get(ctx context.Context, id int64) (*RoleBinding, error)
	Delete(ctx context.Context, id int64) error
	// ListByUser returns every binding of a user (used for permission checks).
	ListByUser(ctx context.Context, userID int64) ([]RoleBinding, error)
	// List filters by scope (and scope id when scope is set); sorts by id or created_at.
	List(ctx context.Context, f RoleBindingFilter, opts ListOptions) (Page[RoleBinding], error)
	DeleteByUser(ctx context.Context, userID int64) error
	DeleteByScope(ctx context.Context, scope string, scopeID int64) error
}

// RoleBindingFilter narrows a role binding list.
type RoleBindingFilter struct {
	Scope   string
	ScopeID *int64
	UserID  *int64
}

// AuditEvents stores the audit log; it is append-only apart from retention.
type AuditEvents interface {
	Create(ctx context.Context, e *AuditEvent) error
	// List sorts by time (default: newest first, "-time") or id; Query matches summary and
	// resource name.
	List(ctx context.Context, f AuditFilter, opts ListOptions) (Page[AuditEvent], error)
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}

// AuditFilter narrows an audit list; empty fields match everything.
type AuditFilter struct {
	Scope        string
	ScopeID      *int64
	Username     string
	Action       string
	ResourceType string
	Result       string
	Since        *time.Time
	Until        *time.Time
}

// Secrets stores credentials; secret material arrives already sealed (encrypted).
type Secrets interface {
	Create(ctx context.Context, s *Secret) error
	Get(ctx context.Context, id int64) (*Secret, error)
	Update(ctx context.Context, s *Secret) error
	Delete(ctx context.Context, id int64) error
	// List sorts by id, name or created_at; Query matches name and description.
	List(ctx context.Context, opts ListOptions) (Page[Secret], error)
}

// ImageRegistries stores registry credentials; the password arrives already sealed.
type ImageRegistries interface {
	Create(ctx context.Context, r *ImageRegistry) error
	Get(ctx context.Context, id int64) (*ImageRegistry, error)
	Update(ctx context.Context, r *ImageRegistry) error
	Delete(ctx context.Context, id int64) error
	// List sorts by id, registry or created_at; Query matches registry and username.
	List(ctx context.Context, opts ListOptions) (Page[ImageRegistry], error)
}

// LoginAttempts records login attempts for rate limiting across server replicas.
type LoginAttempts interface {
	Create(ctx context.Context, a *LoginAttempt) error
	// CountFailures counts failed attempts for username at or after since, and returns the time of
	// the oldest one counted (zero when none).
	CountFailures(ctx context.Context, username string, since time.Time) (int64, time.Time, error)
	// CountByIP counts attempts from ip at or after since, and returns the oldest one's time.
	CountByIP(ctx context.Context, ip string, since time.Time) (int64, time.Time, error)
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}
