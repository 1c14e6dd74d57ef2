package store

import (
	"context"
	"time"
)

// Spacelet statuses.
const (
	SpaceletOnline  = "online"
	SpaceletOffline = "offline"
)

// Spacelet is a worker that pulls and runs pipeline jobs. Only the hash of its credential is
// stored. Labels is a JSON object of strings.
type Spacelet struct {
	ID             int64  `gorm:"primaryKey"`
	Name           string `gorm:"size:128;not null;uniqueIndex"`
	Hostname       string `gorm:"size:255;not null;default:''"`
	Labels         string `gorm:"type:text"`
	Capacity       int    `gorm:"not null;default:1"`
	Version        string `gorm:"size:64;not null;default:''"`
	OS             string `gorm:"size:32;not null;default:''"`
	Arch           string `gorm:"size:32;not null;default:''"`
	Status         string `gorm:"size:16;not null;default:'offline'"`
	Draining       bool   `gorm:"not null;default:false"`
	CredentialHash string `gorm:"size:64;not null;uniqueIndex"`
	LastSeenAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SpaceletToken lets a new spacelet register; only its hash is stored. A SingleUse token
// registers one spacelet; the others any number until they expire.
type SpaceletToken struct {
	ID         int64  `gorm:"primaryKey"`
	Name       string `gorm:"size:128;not null"`
	TokenHash  string `gorm:"size:64;not null;uniqueIndex"`
	Prefix     string `gorm:"size:16;not null;default:''"`
	CreatedBy  int64  `gorm:"not null;default:0"`
	SingleUse  bool   `gorm:"not null;default:false"`
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// Spacelets stores workers.
type Spacelets interface {
	Create(ctx context.Context, s *Spacelet) error
	Get(ctx context.Context, id int64) (*Spacelet, error)
	GetByCredential(ctx context.Context, hash string) (*Spacelet, error)
	GetByName(ctx context.Context, name string) (*Spacelet, error)
	// Update saves every field of s (matched by ID).
	Update(ctx context.Context, s *Spacelet) error
	// Seen records a heartbeat: online, last seen at.
	Seen(ctx context.Context, id int64, at time.Time) error
	// MarkOffline sets the spacelets last seen before t offline and returns their ids.
	MarkOffline(ctx context.Context, before time.Time) ([]int64, error)
	Delete(ctx context.Context, id int64) error
	// List sorts by id (default), name, status or last_seen_at; Query matches name and hostname.
	List(ctx context.Context, opts ListOptions) (Page[Spacelet], error)
	// All returns every spacelet (for scheduling).
	All(ctx context.Context) ([]Spacelet, error)
}

// SpaceletTokens stores registration tokens.
type SpaceletTokens interface {
	Create(ctx context.Context, t *SpaceletToken) error
	GetByHash(ctx context.Context, hash string) (*SpaceletToken, error)
	Touch(ctx context.Context, id int64, at time.Time) error
	// Use records a registration with the token (last used at) and reports whether it was
	// allowed: a single-use token that was used before is refused (a conditional UPDATE, so of
	// two concurrent registrations exactly one gets it).
	Use(ctx context.Context, id int64, at time.Time) (bool, error)
	Delete(ctx context.Context, id int64) error
	List(ctx context.Context, opts ListOptions) (Page[SpaceletToken], error)
}

// TriggerState is what a trigger remembers between evaluations: the last cron tick it fired, the
// last commit it saw on a branch. Key names the trigger and its subject ("cron:0",
// "poll:main"); Value is opaque to the store.
type TriggerState struct {
	ID         int64  `gorm:"primaryKey"`
	PipelineID int64  `gorm:"not null;uniqueIndex:uniq_trigger_state"`
	Key        string `gorm:"column:state_key;size:191;not null;uniqueIndex:uniq_trigger_state"`
	Value      string `gorm:"type:text"`
	UpdatedAt  time.Time
}

// WebhookDelivery records a webhook delivery id, so a repeated delivery starts nothing twice.
type WebhookDelivery struct {
	ID          int64     `gorm:"primaryKey"`
	WorkspaceID int64     `gorm:"not null;uniqueIndex:uniq_webhook_delivery"`
	DeliveryID  string    `gorm:"size:128;not null;uniqueIndex:uniq_webhook_delivery"`
	Provider    string    `gorm:"size:16;not null"`
	ReceivedAt  time.Time `gorm:"not null;index"`
}

// Triggers stores trigger state and webhook deliveries.
type Triggers interface {
	// State returns a trigger's remembered value ("" when none).
	State(ctx context.Context, pipelineID int64, key string) (string, error)
	// SetState stores a value only if the current one is old (compare-and-set; "" matches a
	// missing row); it reports whether it did, so two controllers fire a tick once.
	SetState(ctx context.Context, pipelineID int64, key, old, value string) (bool, error)
	DeleteStates(ctx context.Context, pipelineID int64) error
	// RecordDelivery stores a delivery id and reports false if it was already recorded.
	RecordDelivery(ctx context.Context, d *WebhookDelivery) (bool, error)
	// ForgetDelivery removes a delivery id, so a delivery whose handling failed can be retried.
	ForgetDelivery(ctx context.Context, workspaceID int64, deliveryID string) error
	DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error)
}
