package store

import (
	"context"
	"time"
)

// Cluster access modes.
const (
	ClusterDirect = "direct" // the server holds a kubeconfig
	ClusterAgent  = "agent"  // reached through its kube-agent's tunnel
)

// Cluster statuses.
const (
	ClusterPending      = "pending"      // no successful contact yet (agent not connected)
	ClusterConnected    = "connected"    // the last probe reached the API server
	ClusterDisconnected = "disconnected" // was reachable, the last probe failed
	ClusterError        = "error"        // credentials or configuration are unusable
)

// Cluster is a managed Kubernetes cluster. Its kubeconfig is sealed; the observed fields
// (status, version, node count) are written only by probes, through UpdateStatus.
type Cluster struct {
	ID               int64      `gorm:"primaryKey" json:"id"`
	Name             string     `gorm:"size:64;not null;uniqueIndex" json:"name"`
	Description      string     `gorm:"size:512;not null;default:''" json:"description"`
	Mode             string     `gorm:"size:16;not null" json:"mode"`
	KubeconfigSealed []byte     `json:"-"`
	Context          string     `gorm:"size:255;not null;default:''" json:"context"`
	Server           string     `gorm:"size:512;not null;default:''" json:"server"`
	Status           string     `gorm:"size:16;not null;default:'pending'" json:"status"`
	StatusReason     string     `gorm:"size:1024;not null;default:''" json:"status_reason"`
	Version          string     `gorm:"size:64;not null;default:''" json:"version"`
	NodeCount        int        `gorm:"not null;default:0" json:"node_count"`
	LastSeenAt       *time.Time `json:"last_seen_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// ClusterStatus is what a probe observed.
type ClusterStatus struct {
	Status       string
	StatusReason string
	Version      string
	NodeCount    int
	LastSeenAt   *time.Time
}

// ClusterFilter narrows a cluster list; nil IDs match every cluster, an empty slice none.
type ClusterFilter struct {
	IDs []int64
}

// Clusters stores managed clusters.
type Clusters interface {
	Create(ctx context.Context, c *Cluster) error
	Get(ctx context.Context, id int64) (*Cluster, error)
	// Update saves the configuration fields (name, description, mode, kubeconfig, context,
	// server); status fields are left to UpdateStatus.
	Update(ctx context.Context, c *Cluster) error
	UpdateStatus(ctx context.Context, id int64, s ClusterStatus) error
	Delete(ctx context.Context, id int64) error
	// List sorts by id (default), name, status or created_at; Query matches name, description
	// and server.
	List(ctx context.Context, f ClusterFilter, opts ListOptions) (Page[Cluster], error)
	// All returns every cluster (for probes and informer housekeeping).
	All(ctx context.Context) ([]Cluster, error)
}
