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
	Tx             Transactor
	Users          Users
	Sessions       Sessions
	Tokens         Tokens
	RoleBindings   RoleBindings
	Audit          AuditEvents
	Secrets        Secrets
	Registries     ImageRegistries
	LoginThrottles LoginThrottles
	Clusters       Clusters
	// Pipelines.
	PipelineWorkspaces PipelineWorkspaces
	Pipelines          Pipelines
	PipelineRuns       PipelineRuns
	JobDispatch        JobDispatch
	JobLogs            JobLogs
	Spacelets          Spacelets
	SpaceletTokens     SpaceletTokens
	Triggers           Triggers
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
	// Search returns at most limit users (1-1000) whose username or display name contains
	// query, case-insensitively (an empty query matches everyone), sorted by username. It never
	// matches on email: its callers may not see emails.
	Search(ctx context.Context, query string, limit int) ([]User, error)
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

// LoginThrottles counts sign-in attempts per key (a user at an address, an address, a user) so
// that limits hold across server replicas and restarts. Each attempt is counted by one
// conditional UPDATE before the credential is checked (the window reset and the limit check
// happen in the same statement), so concurrent attempts cannot all slip under a limit: exactly
// the first Max of them in a window are let through.
type LoginThrottles interface {
	// Hit counts one attempt against key at now if limit lets it through, creating the key's
	// counter when missing. A refused attempt changes nothing.
	Hit(ctx context.Context, key string, limit ThrottleLimit, now time.Time) (ThrottleHit, error)
	// Refund takes back an attempt Hit let through (when another limit then refused it), unless
	// the key's window has been restarted since. A backoff the attempt caused stays.
	Refund(ctx context.Context, key string, hit ThrottleHit) error
	// Reset forgets keys (a successful sign-in clears its failures).
	Reset(ctx context.Context, keys ...string) error
	// DeleteIdle removes counters whose window opened and whose backoff ended before t.
	DeleteIdle(ctx context.Context, t time.Time) (int64, error)
}

// ThrottleLimit is the policy of one throttle key.
type ThrottleLimit struct {
	// Max attempts are let through per Window; 0 sets no cap (only the backoff applies).
	Max    int
	Window time.Duration
	// Sliding restarts the window with every attempt let through, so the count returns to zero
	// only after a quiet Window; otherwise the window runs from the first attempt.
	Sliding bool
	// BackoffAfter > 0: once that many attempts were let through in the window, each further
	// one must wait BackoffBase after the previous, doubling each time up to BackoffMax.
	BackoffAfter int
	BackoffBase  time.Duration
	BackoffMax   time.Duration
}

// ThrottleHit is the outcome of counting one attempt.
type ThrottleHit struct {
	Allowed bool
	// Hits is the count in the window (this attempt included when allowed).
	Hits int
	// WindowStart identifies the window the attempt was counted in (for Refund).
	WindowStart time.Time
	// RetryAfter is, for a refused attempt, how long until one would be let through.
	RetryAfter time.Duration
}
