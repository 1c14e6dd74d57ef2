package database

import (
	"time"

	"gorm.io/gorm"
)

// migrations lists every schema change in order. Append only: a released migration is never
// edited, renumbered or removed.
func migrations() []migration {
	return []migration{
		{1, "create platform tables", migrate0001PlatformTables},
		{2, "create login_attempts", migrate0002LoginAttempts},
		{3, "create clusters", migrate0003Clusters},
		{4, "create login_throttles", migrate0004LoginThrottles},
		{5, "create pipeline tables", migrate0005Pipelines},
		{6, "add spacelet_tokens.single_use", migrate0006SpaceletTokenSingleUse},
	}
}

// migrate0001PlatformTables creates users, sessions, api_tokens, role_bindings, audit_events,
// secrets and image_registries. The structs are snapshots of package store at the time; their
// type names give GORM the table names. Times carry precision:6 (DATETIME(6) on MySQL).
func migrate0001PlatformTables(tx *gorm.DB) error {
	type user struct {
		ID           int64      `gorm:"primaryKey"`
		Username     string     `gorm:"size:64;not null;uniqueIndex"`
		Email        string     `gorm:"size:255;not null;default:''"`
		DisplayName  string     `gorm:"size:128;not null;default:''"`
		PasswordHash string     `gorm:"size:255;not null;default:''"`
		Status       string     `gorm:"size:16;not null;default:'active'"`
		IsSuper      bool       `gorm:"not null;default:false"`
		Source       string     `gorm:"size:16;not null;default:'local'"`
		LastLoginAt  *time.Time `gorm:"precision:6"`
		CreatedAt    time.Time  `gorm:"not null;precision:6"`
		UpdatedAt    time.Time  `gorm:"not null;precision:6"`
	}
	type session struct {
		ID         int64     `gorm:"primaryKey"`
		UserID     int64     `gorm:"not null;index"`
		TokenHash  string    `gorm:"size:64;not null;uniqueIndex"`
		IP         string    `gorm:"size:64;not null;default:''"`
		UserAgent  string    `gorm:"size:255;not null;default:''"`
		ExpiresAt  time.Time `gorm:"not null;index;precision:6"`
		LastSeenAt time.Time `gorm:"not null;precision:6"`
		CreatedAt  time.Time `gorm:"not null;precision:6"`
	}
	type apiToken struct {
		ID         int64      `gorm:"primaryKey"`
		UserID     int64      `gorm:"not null;index"`
		Name       string     `gorm:"size:128;not null"`
		TokenHash  string     `gorm:"size:64;not null;uniqueIndex"`
		Prefix     string     `gorm:"size:16;not null;default:''"`
		ClusterID  int64      `gorm:"not null;default:0"`
		ExpiresAt  *time.Time `gorm:"precision:6"`
		LastUsedAt *time.Time `gorm:"precision:6"`
		CreatedAt  time.Time  `gorm:"not null;precision:6"`
	}
	type roleBinding struct {
		ID        int64     `gorm:"primaryKey"`
		UserID    int64     `gorm:"not null;uniqueIndex:uniq_binding"`
		Scope     string    `gorm:"size:32;not null;uniqueIndex:uniq_binding;index:idx_binding_scope"`
		ScopeID   int64     `gorm:"not null;uniqueIndex:uniq_binding;index:idx_binding_scope"`
		Role      string    `gorm:"size:16;not null"`
		CreatedBy int64     `gorm:"not null;default:0"`
		CreatedAt time.Time `gorm:"not null;precision:6"`
	}
	type auditEvent struct {
		ID           int64     `gorm:"primaryKey"`
		Time         time.Time `gorm:"not null;index;precision:6"`
		UserID       int64     `gorm:"not null;default:0"`
		Username     string    `gorm:"size:64;not null;default:'';index"`
		IP           string    `gorm:"size:64;not null;default:''"`
		RequestID    string    `gorm:"size:64;not null;default:''"`
		Method       string    `gorm:"size:8;not null;default:''"`
		Path         string    `gorm:"size:512;not null;default:''"`
		Action       string    `gorm:"size:64;not null;default:'';index"`
		Scope        string    `gorm:"size:32;not null;default:'';index:idx_audit_scope"`
		ScopeID      int64     `gorm:"not null;default:0;index:idx_audit_scope"`
		ResourceType string    `gorm:"size:64;not null;default:''"`
		ResourceID   string    `gorm:"size:64;not null;default:''"`
		ResourceName string    `gorm:"size:255;not null;default:''"`
		Result       string    `gorm:"size:16;not null;default:''"`
		StatusCode   int       `gorm:"not null;default:0"`
		Summary      string    `gorm:"type:text"`
	}
	type secret struct {
		ID               int64  `gorm:"primaryKey"`
		Name             string `gorm:"size:128;not null;uniqueIndex"`
		Description      string `gorm:"size:512;not null;default:''"`
		Type             string `gorm:"size:16;not null"`
		Username         string `gorm:"size:255;not null;default:''"`
		PasswordSealed   []byte
		PrivateKeySealed []byte
		TokenSealed      []byte
		CreatedAt        time.Time `gorm:"not null;precision:6"`
		UpdatedAt        time.Time `gorm:"not null;precision:6"`
	}
	type imageRegistry struct {
		ID             int64  `gorm:"primaryKey"`
		Registry       string `gorm:"size:255;not null;uniqueIndex"`
		Username       string `gorm:"size:255;not null;default:''"`
		PasswordSealed []byte
		Insecure       bool      `gorm:"not null;default:false"`
		CreatedAt      time.Time `gorm:"not null;precision:6"`
		UpdatedAt      time.Time `gorm:"not null;precision:6"`
	}
	return tx.Migrator().CreateTable(&user{}, &session{}, &apiToken{}, &roleBinding{},
		&auditEvent{}, &secret{}, &imageRegistry{})
}

// migrate0002LoginAttempts creates login_attempts, read by the login rate limiter.
func migrate0002LoginAttempts(tx *gorm.DB) error {
	type loginAttempt struct {
		ID       int64     `gorm:"primaryKey"`
		Username string    `gorm:"size:64;not null;index:idx_attempt_user"`
		IP       string    `gorm:"size:64;not null;index:idx_attempt_ip"`
		Success  bool      `gorm:"not null"`
		At       time.Time `gorm:"not null;precision:6;index:idx_attempt_user;index:idx_attempt_ip"`
	}
	return tx.Migrator().CreateTable(&loginAttempt{})
}

// migrate0003Clusters creates clusters (managed Kubernetes clusters, kubeconfig sealed).
func migrate0003Clusters(tx *gorm.DB) error {
	type cluster struct {
		ID               int64  `gorm:"primaryKey"`
		Name             string `gorm:"size:64;not null;uniqueIndex"`
		Description      string `gorm:"size:512;not null;default:''"`
		Mode             string `gorm:"size:16;not null"`
		KubeconfigSealed []byte
		Context          string     `gorm:"size:255;not null;default:''"`
		Server           string     `gorm:"size:512;not null;default:''"`
		Status           string     `gorm:"size:16;not null;default:'pending'"`
		StatusReason     string     `gorm:"size:1024;not null;default:''"`
		Version          string     `gorm:"size:64;not null;default:''"`
		NodeCount        int        `gorm:"not null;default:0"`
		LastSeenAt       *time.Time `gorm:"precision:6"`
		CreatedAt        time.Time  `gorm:"not null;precision:6"`
		UpdatedAt        time.Time  `gorm:"not null;precision:6"`
	}
	return tx.Migrator().CreateTable(&cluster{})
}

// migrate0004LoginThrottles creates login_throttles, the attempt counters of the login and setup
// rate limits. login_attempts is no longer read but stays, so that a server of the previous
// version running beside this one during an upgrade keeps working.
func migrate0004LoginThrottles(tx *gorm.DB) error {
	type loginThrottle struct {
		Key           string `gorm:"column:throttle_key;primaryKey;size:191"`
		Hits          int    `gorm:"not null;default:0"`
		WindowStartUS int64  `gorm:"column:window_start_us;not null;default:0;index:idx_throttle_window"`
		BackoffUS     int64  `gorm:"column:backoff_us;not null;default:0"`
		NextAtUS      int64  `gorm:"column:next_at_us;not null;default:0"`
	}
	return tx.Migrator().CreateTable(&loginThrottle{})
}
