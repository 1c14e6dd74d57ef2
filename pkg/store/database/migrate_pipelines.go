package database

import (
	"time"

	"gorm.io/gorm"
)

// migrate0005Pipelines creates the pipeline tables: workspaces, pipelines, runs with their stages
// and jobs, log chunks, spacelets and their registration tokens, trigger state and webhook
// deliveries. The structs are snapshots of package store at the time.
func migrate0005Pipelines(tx *gorm.DB) error {
	type pipelineWorkspace struct {
		ID                    int64  `gorm:"primaryKey"`
		Name                  string `gorm:"size:128;not null;uniqueIndex"`
		Description           string `gorm:"size:512;not null;default:''"`
		Type                  string `gorm:"size:16;not null"`
		CodeProvider          string `gorm:"size:16;not null;default:''"`
		CodeURL               string `gorm:"size:512;not null;default:''"`
		CodeSecretID          int64  `gorm:"not null;default:0"`
		InsecureSkipTLSVerify bool   `gorm:"not null;default:false"`
		KnownHosts            string `gorm:"type:text"`
		InsecureIgnoreHostKey bool   `gorm:"not null;default:false"`
		WebhookSecretSealed   []byte
		CreatedBy             int64     `gorm:"not null;default:0"`
		CreatedAt             time.Time `gorm:"not null;precision:6"`
		UpdatedAt             time.Time `gorm:"not null;precision:6"`
	}
	type pipeline struct {
		ID          int64     `gorm:"primaryKey"`
		WorkspaceID int64     `gorm:"not null;uniqueIndex:uniq_pipeline_name"`
		Name        string    `gorm:"size:128;not null;uniqueIndex:uniq_pipeline_name"`
		Description string    `gorm:"size:512;not null;default:''"`
		Definition  string    `gorm:"type:text"`
		BuildSeq    int64     `gorm:"not null;default:0"`
		CreatedBy   int64     `gorm:"not null;default:0"`
		CreatedAt   time.Time `gorm:"not null;precision:6"`
		UpdatedAt   time.Time `gorm:"not null;precision:6"`
	}
	type pipelineRun struct {
		ID          int64      `gorm:"primaryKey"`
		PipelineID  int64      `gorm:"not null;uniqueIndex:uniq_run_build"`
		WorkspaceID int64      `gorm:"not null;index"`
		BuildNumber int64      `gorm:"not null;uniqueIndex:uniq_run_build"`
		Status      string     `gorm:"size:16;not null;index"`
		Trigger     string     `gorm:"column:trigger_type;size:16;not null"`
		TriggerUser string     `gorm:"size:64;not null;default:''"`
		Definition  string     `gorm:"type:text"`
		Env         string     `gorm:"type:text"`
		Source      string     `gorm:"type:text"`
		Params      string     `gorm:"type:text"`
		Reason      string     `gorm:"size:1024;not null;default:''"`
		Version     int64      `gorm:"not null;default:0"`
		CreatedAt   time.Time  `gorm:"not null;precision:6"`
		UpdatedAt   time.Time  `gorm:"not null;precision:6"`
		StartedAt   *time.Time `gorm:"precision:6"`
		FinishedAt  *time.Time `gorm:"precision:6"`
	}
	type stageRun struct {
		ID           int64      `gorm:"primaryKey"`
		RunID        int64      `gorm:"not null;index"`
		Idx          int        `gorm:"not null"`
		Name         string     `gorm:"size:128;not null"`
		TriggerMode  string     `gorm:"size:16;not null"`
		Status       string     `gorm:"size:16;not null"`
		CustomParams string     `gorm:"type:text"`
		Env          string     `gorm:"type:text"`
		Outputs      string     `gorm:"type:text"`
		ExecutedBy   string     `gorm:"size:64;not null;default:''"`
		Version      int64      `gorm:"not null;default:0"`
		CreatedAt    time.Time  `gorm:"not null;precision:6"`
		UpdatedAt    time.Time  `gorm:"not null;precision:6"`
		StartedAt    *time.Time `gorm:"precision:6"`
		FinishedAt   *time.Time `gorm:"precision:6"`
	}
	type jobRun struct {
		ID             int64      `gorm:"primaryKey"`
		RunID          int64      `gorm:"not null;index"`
		StageRunID     int64      `gorm:"not null;index"`
		Idx            int        `gorm:"not null"`
		Name           string     `gorm:"size:128;not null"`
		PluginKey      string     `gorm:"size:64;not null"`
		Params         string     `gorm:"type:text"`
		Schedule       string     `gorm:"type:text"`
		TimeoutSeconds int        `gorm:"not null;default:0"`
		Retries        int        `gorm:"not null;default:0"`
		Attempt        int        `gorm:"not null;default:0"`
		Status         string     `gorm:"size:16;not null;index:idx_job_spacelet_status,priority:2"`
		SpaceletID     int64      `gorm:"not null;default:0;index:idx_job_spacelet_status,priority:1"`
		Env            string     `gorm:"type:text"`
		Outputs        string     `gorm:"type:text"`
		Message        string     `gorm:"size:1024;not null;default:''"`
		Reason         string     `gorm:"size:1024;not null;default:''"`
		ExitCode       int        `gorm:"not null;default:0"`
		LogSize        int64      `gorm:"not null;default:0"`
		Version        int64      `gorm:"not null;default:0"`
		AssignedAt     *time.Time `gorm:"precision:6"`
		LeaseUntil     *time.Time `gorm:"precision:6"`
		CreatedAt      time.Time  `gorm:"not null;precision:6"`
		UpdatedAt      time.Time  `gorm:"not null;precision:6"`
		StartedAt      *time.Time `gorm:"precision:6"`
		FinishedAt     *time.Time `gorm:"precision:6"`
	}
	type logChunk struct {
		ID        int64     `gorm:"primaryKey"`
		JobRunID  int64     `gorm:"not null;uniqueIndex:uniq_log_chunk"`
		Offset    int64     `gorm:"column:byte_offset;not null;uniqueIndex:uniq_log_chunk"`
		Size      int64     `gorm:"not null"`
		Data      []byte    `gorm:"type:mediumblob"`
		CreatedAt time.Time `gorm:"not null;precision:6"`
	}
	type spacelet struct {
		ID             int64      `gorm:"primaryKey"`
		Name           string     `gorm:"size:128;not null;uniqueIndex"`
		Hostname       string     `gorm:"size:255;not null;default:''"`
		Labels         string     `gorm:"type:text"`
		Capacity       int        `gorm:"not null;default:1"`
		Version        string     `gorm:"size:64;not null;default:''"`
		OS             string     `gorm:"size:32;not null;default:''"`
		Arch           string     `gorm:"size:32;not null;default:''"`
		Status         string     `gorm:"size:16;not null;default:'offline'"`
		Draining       bool       `gorm:"not null;default:false"`
		CredentialHash string     `gorm:"size:64;not null;uniqueIndex"`
		LastSeenAt     *time.Time `gorm:"precision:6"`
		CreatedAt      time.Time  `gorm:"not null;precision:6"`
		UpdatedAt      time.Time  `gorm:"not null;precision:6"`
	}
	type spaceletToken struct {
		ID         int64      `gorm:"primaryKey"`
		Name       string     `gorm:"size:128;not null"`
		TokenHash  string     `gorm:"size:64;not null;uniqueIndex"`
		Prefix     string     `gorm:"size:16;not null;default:''"`
		CreatedBy  int64      `gorm:"not null;default:0"`
		ExpiresAt  *time.Time `gorm:"precision:6"`
		LastUsedAt *time.Time `gorm:"precision:6"`
		CreatedAt  time.Time  `gorm:"not null;precision:6"`
	}
	type triggerState struct {
		ID         int64     `gorm:"primaryKey"`
		PipelineID int64     `gorm:"not null;uniqueIndex:uniq_trigger_state"`
		Key        string    `gorm:"column:state_key;size:191;not null;uniqueIndex:uniq_trigger_state"`
		Value      string    `gorm:"type:text"`
		UpdatedAt  time.Time `gorm:"not null;precision:6"`
	}
	type webhookDelivery struct {
		ID          int64     `gorm:"primaryKey"`
		WorkspaceID int64     `gorm:"not null;uniqueIndex:uniq_webhook_delivery"`
		DeliveryID  string    `gorm:"size:128;not null;uniqueIndex:uniq_webhook_delivery"`
		Provider    string    `gorm:"size:16;not null"`
		ReceivedAt  time.Time `gorm:"not null;index;precision:6"`
	}
	return tx.Migrator().CreateTable(&pipelineWorkspace{}, &pipeline{}, &pipelineRun{}, &stageRun{}, &jobRun{},
		&logChunk{}, &spacelet{}, &spaceletToken{}, &triggerState{}, &webhookDelivery{})
}

// migrate0006SpaceletTokenSingleUse lets a registration token register one spacelet only.
func migrate0006SpaceletTokenSingleUse(tx *gorm.DB) error {
	type spaceletToken struct {
		SingleUse bool `gorm:"not null;default:false"`
	}
	if tx.Migrator().HasColumn(&spaceletToken{}, "SingleUse") {
		return nil
	}
	return tx.Migrator().AddColumn(&spaceletToken{}, "SingleUse")
}
