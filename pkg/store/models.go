package store

import "time"

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User sources.
const (
	SourceLocal = "local"
	SourceLDAP  = "ldap"
	SourceOIDC  = "oidc"
)

// User is a person who signs in to KubeSpace. It is a row, not an API body: the API shows
// identity.UserView. The hash stays tagged out of JSON in case a row is ever dumped.
type User struct {
	ID           int64  `gorm:"primaryKey"`
	Username     string `gorm:"size:64;not null;uniqueIndex"`
	Email        string `gorm:"size:255;not null;default:''"`
	DisplayName  string `gorm:"size:128;not null;default:''"`
	PasswordHash string `gorm:"size:255;not null;default:''" json:"-"`
	Status       string `gorm:"size:16;not null;default:'active'"`
	IsSuper      bool   `gorm:"not null;default:false"`
	Source       string `gorm:"size:16;not null;default:'local'"`
	LastLoginAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is a signed-in browser or CLI session; the token itself is never stored.
type Session struct {
	ID         int64     `gorm:"primaryKey"`
	UserID     int64     `gorm:"not null;index"`
	TokenHash  string    `gorm:"size:64;not null;uniqueIndex"`
	IP         string    `gorm:"size:64;not null;default:''"`
	UserAgent  string    `gorm:"size:255;not null;default:''"`
	ExpiresAt  time.Time `gorm:"not null;index"`
	LastSeenAt time.Time `gorm:"not null"`
	CreatedAt  time.Time
}

// APIToken is a long-lived credential for scripts and kubectl; only its hash is stored. It is a
// row, not an API body: the API shows identity.TokenView.
type APIToken struct {
	ID        int64  `gorm:"primaryKey"`
	UserID    int64  `gorm:"not null;index"`
	Name      string `gorm:"size:128;not null"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex" json:"-"`
	Prefix    string `gorm:"size:16;not null;default:''"`
	// ClusterID limits the token to one cluster's API proxy (0: not limited).
	ClusterID  int64 `gorm:"not null;default:0"`
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// Role binding scopes.
const (
	ScopePlatform          = "platform"
	ScopeCluster           = "cluster"
	ScopeWorkspace         = "workspace"
	ScopePipelineWorkspace = "pipeline_workspace"
)

// Roles, in increasing order of power.
const (
	RoleViewer = "viewer"
	RoleEditor = "editor"
	RoleAdmin  = "admin"
)

// RoleBinding grants a user a role in one scope object (ScopeID 0 for the platform).
type RoleBinding struct {
	ID        int64     `gorm:"primaryKey" json:"id"`
	UserID    int64     `gorm:"not null;uniqueIndex:uniq_binding" json:"user_id"`
	Scope     string    `gorm:"size:32;not null;uniqueIndex:uniq_binding;index:idx_binding_scope" json:"scope"`
	ScopeID   int64     `gorm:"not null;uniqueIndex:uniq_binding;index:idx_binding_scope" json:"scope_id"`
	Role      string    `gorm:"size:16;not null" json:"role"`
	CreatedBy int64     `gorm:"not null;default:0" json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Username is filled on reads for display; it is not a column.
	Username string `gorm:"-" json:"username"`
}

// Audit results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// AuditEvent records one change, login or denial.
type AuditEvent struct {
	ID           int64     `gorm:"primaryKey" json:"id"`
	Time         time.Time `gorm:"not null;index" json:"time"`
	UserID       int64     `gorm:"not null;default:0" json:"user_id"`
	Username     string    `gorm:"size:64;not null;default:'';index" json:"username"`
	IP           string    `gorm:"size:64;not null;default:''" json:"ip"`
	RequestID    string    `gorm:"size:64;not null;default:''" json:"request_id"`
	Method       string    `gorm:"size:8;not null;default:''" json:"method"`
	Path         string    `gorm:"size:512;not null;default:''" json:"path"`
	Action       string    `gorm:"size:64;not null;default:'';index" json:"action"`
	Scope        string    `gorm:"size:32;not null;default:'';index:idx_audit_scope" json:"scope"`
	ScopeID      int64     `gorm:"not null;default:0;index:idx_audit_scope" json:"scope_id"`
	ResourceType string    `gorm:"size:64;not null;default:''" json:"resource_type"`
	ResourceID   string    `gorm:"size:64;not null;default:''" json:"resource_id"`
	ResourceName string    `gorm:"size:255;not null;default:''" json:"resource_name"`
	Result       string    `gorm:"size:16;not null;default:''" json:"result"`
	StatusCode   int       `gorm:"not null;default:0" json:"status_code"`
	Summary      string    `gorm:"type:text" json:"summary"`
}

// Secret types.
const (
	SecretPassword = "password"
	SecretSSHKey   = "ssh_key"
	SecretToken    = "token"
)

// Secret is a stored credential (for git, SSH, registries...). Sealed fields hold AES-GCM
// ciphertext; they never leave the server.
type Secret struct {
	ID               int64     `gorm:"primaryKey" json:"id"`
	Name             string    `gorm:"size:128;not null;uniqueIndex" json:"name"`
	Description      string    `gorm:"size:512;not null;default:''" json:"description"`
	Type             string    `gorm:"size:16;not null" json:"type"`
	Username         string    `gorm:"size:255;not null;default:''" json:"username"`
	PasswordSealed   []byte    `json:"-"`
	PrivateKeySealed []byte    `json:"-"`
	TokenSealed      []byte    `json:"-"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ImageRegistry holds credentials for a container image registry.
type ImageRegistry struct {
	ID             int64     `gorm:"primaryKey" json:"id"`
	Registry       string    `gorm:"size:255;not null;uniqueIndex" json:"registry"`
	Username       string    `gorm:"size:255;not null;default:''" json:"username"`
	PasswordSealed []byte    `json:"-"`
	Insecure       bool      `gorm:"not null;default:false" json:"insecure"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// LoginThrottle is the attempt counter behind one throttle key (see LoginThrottles). Its times
// are Unix microseconds, not time columns, so that one portable SQL statement can compare and
// add them on both engines.
type LoginThrottle struct {
	Key string `gorm:"column:throttle_key;primaryKey;size:191"`
	// Hits counts the attempts let through in the current window.
	Hits int `gorm:"not null;default:0"`
	// WindowStartUS is when the current window opened (sliding windows: the last attempt).
	WindowStartUS int64 `gorm:"column:window_start_us;not null;default:0;index:idx_throttle_window"`
	// BackoffUS is the wait the last attempt imposed on the next one (0: none).
	BackoffUS int64 `gorm:"column:backoff_us;not null;default:0"`
	// NextAtUS is the earliest time the next attempt may proceed.
	NextAtUS int64 `gorm:"column:next_at_us;not null;default:0"`
}
