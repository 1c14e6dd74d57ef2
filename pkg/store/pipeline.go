package store

import (
	"context"
	"time"
)

// Pipeline workspace types.
const (
	WorkspaceCode   = "code"   // bound to one git repository
	WorkspaceCustom = "custom" // pipelines take other pipelines' runs as sources, or none
)

// PipelineWorkspace groups pipelines, bound to a repository (code) or not (custom). It is the
// scope of the pipeline_workspace roles.
type PipelineWorkspace struct {
	ID          int64  `gorm:"primaryKey"`
	Name        string `gorm:"size:128;not null;uniqueIndex"`
	Description string `gorm:"size:512;not null;default:''"`
	Type        string `gorm:"size:16;not null"`
	// CodeProvider is github, gitlab, gitee or git (any git URL); CodeURL the clone URL (HTTPS
	// or SSH); CodeSecretID the secret it is read with (0: anonymous).
	CodeProvider string `gorm:"size:16;not null;default:''"`
	CodeURL      string `gorm:"size:512;not null;default:''"`
	CodeSecretID int64  `gorm:"not null;default:0"`
	// InsecureSkipTLSVerify turns off TLS verification for the repository (the user opted out).
	InsecureSkipTLSVerify bool `gorm:"not null;default:false"`
	// KnownHosts pins the SSH host keys of the repository's server (known_hosts lines); empty
	// means the machine's known hosts. InsecureIgnoreHostKey is the user's explicit opt-out.
	KnownHosts            string `gorm:"type:text"`
	InsecureIgnoreHostKey bool   `gorm:"not null;default:false"`
	// WebhookSecretSealed verifies push webhooks (sealed; shown once on creation or rotation).
	WebhookSecretSealed []byte
	CreatedBy           int64 `gorm:"not null;default:0"`
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Pipeline is a definition: sources, triggers and ordered stages of jobs, stored as the JSON of
// pipeline.Definition. Runs copy it when they start.
type Pipeline struct {
	ID          int64  `gorm:"primaryKey"`
	WorkspaceID int64  `gorm:"not null;uniqueIndex:uniq_pipeline_name"`
	Name        string `gorm:"size:128;not null;uniqueIndex:uniq_pipeline_name"`
	Description string `gorm:"size:512;not null;default:''"`
	Definition  string `gorm:"type:text"`
	// BuildSeq is the last build number given to a run (incremented in the run's transaction).
	BuildSeq  int64 `gorm:"not null;default:0"`
	CreatedBy int64 `gorm:"not null;default:0"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Run, stage and job statuses.
const (
	StatusWait     = "wait"
	StatusDoing    = "doing"
	StatusOK       = "ok"
	StatusError    = "error"
	StatusPause    = "pause"
	StatusCancel   = "cancel" // cancellation requested, not yet done
	StatusCanceled = "canceled"
)

// Terminal reports whether a status is final.
func Terminal(status string) bool {
	return status == StatusOK || status == StatusError || status == StatusCanceled
}

// Run triggers.
const (
	TriggerManual   = "manual"
	TriggerCron     = "cron"
	TriggerPush     = "push"
	TriggerPoll     = "poll"
	TriggerPipeline = "pipeline"
)

// PipelineRun is one build of a pipeline. Env, Source and Params are JSON objects.
type PipelineRun struct {
	ID          int64  `gorm:"primaryKey"`
	PipelineID  int64  `gorm:"not null;uniqueIndex:uniq_run_build"`
	WorkspaceID int64  `gorm:"not null;index"`
	BuildNumber int64  `gorm:"not null;uniqueIndex:uniq_run_build"`
	Status      string `gorm:"size:16;not null;index"`
	Trigger     string `gorm:"column:trigger_type;size:16;not null"`
	TriggerUser string `gorm:"size:64;not null;default:''"`
	// Definition is the pipeline definition the run started with.
	Definition string `gorm:"type:text"`
	Env        string `gorm:"type:text"`
	Source     string `gorm:"type:text"`
	Params     string `gorm:"type:text"`
	// Reason says why the run waits or failed, for people.
	Reason     string `gorm:"size:1024;not null;default:''"`
	Version    int64  `gorm:"not null;default:0"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Stage trigger modes.
const (
	StageAuto   = "auto"
	StageManual = "manual"
)

// StageRun is one stage of a run. CustomParams, Env and Outputs are JSON objects of strings.
type StageRun struct {
	ID           int64  `gorm:"primaryKey"`
	RunID        int64  `gorm:"not null;index"`
	Idx          int    `gorm:"not null"`
	Name         string `gorm:"size:128;not null"`
	TriggerMode  string `gorm:"size:16;not null"`
	Status       string `gorm:"size:16;not null"`
	CustomParams string `gorm:"type:text"`
	Env          string `gorm:"type:text"`
	Outputs      string `gorm:"type:text"`
	ExecutedBy   string `gorm:"size:64;not null;default:''"`
	Version      int64  `gorm:"not null;default:0"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
	StartedAt    *time.Time
	FinishedAt   *time.Time
}

// JobRun is one job of a stage run. Params, Schedule and Outputs are JSON; SpaceletID is the
// spacelet it is assigned to (0: not scheduled).
type JobRun struct {
	ID             int64  `gorm:"primaryKey"`
	RunID          int64  `gorm:"not null;index"`
	StageRunID     int64  `gorm:"not null;index"`
	Idx            int    `gorm:"not null"`
	Name           string `gorm:"size:128;not null"`
	PluginKey      string `gorm:"size:64;not null"`
	Params         string `gorm:"type:text"`
	Schedule       string `gorm:"type:text"`
	TimeoutSeconds int    `gorm:"not null;default:0"`
	Retries        int    `gorm:"not null;default:0"`
	Attempt        int    `gorm:"not null;default:0"`
	Status         string `gorm:"size:16;not null;index:idx_job_spacelet_status,priority:2"`
	SpaceletID     int64  `gorm:"not null;default:0;index:idx_job_spacelet_status,priority:1"`
	// Env is the environment the job was dispatched with (JSON), Outputs what it reported.
	Env     string `gorm:"type:text"`
	Outputs string `gorm:"type:text"`
	// Message is the result or failure in a sentence; Reason why a waiting job waits.
	Message    string `gorm:"size:1024;not null;default:''"`
	Reason     string `gorm:"size:1024;not null;default:''"`
	ExitCode   int    `gorm:"not null;default:0"`
	LogSize    int64  `gorm:"not null;default:0"`
	Version    int64  `gorm:"not null;default:0"`
	AssignedAt *time.Time
	LeaseUntil *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// RunDetail is a run with its stages and their jobs, in order.
type RunDetail struct {
	Run    PipelineRun
	Stages []StageRun
	// Jobs holds each stage's jobs, by stage index.
	Jobs [][]JobRun
}

// PipelineWorkspaces stores pipeline workspaces.
type PipelineWorkspaces interface {
	Create(ctx context.Context, w *PipelineWorkspace) error
	Get(ctx context.Context, id int64) (*PipelineWorkspace, error)
	// Update saves every field of w (matched by ID).
	Update(ctx context.Context, w *PipelineWorkspace) error
	Delete(ctx context.Context, id int64) error
	// List sorts by id (default), name or created_at; Query matches name, description and the
	// code URL; IDs limits the result (nil: all).
	List(ctx context.Context, ids []int64, opts ListOptions) (Page[PipelineWorkspace], error)
}

// Pipelines stores pipeline definitions.
type Pipelines interface {
	Create(ctx context.Context, p *Pipeline) error
	Get(ctx context.Context, id int64) (*Pipeline, error)
	// Update saves name, description and definition (matched by ID).
	Update(ctx context.Context, p *Pipeline) error
	Delete(ctx context.Context, id int64) error
	// List sorts by id (default), name or created_at; Query matches name and description.
	List(ctx context.Context, workspaceID int64, opts ListOptions) (Page[Pipeline], error)
	// All returns every pipeline (for trigger housekeeping).
	All(ctx context.Context) ([]Pipeline, error)
	// NextBuildNumber increments and returns a pipeline's build sequence. Call it inside the
	// transaction that creates the run: concurrent callers get distinct numbers.
	NextBuildNumber(ctx context.Context, id int64) (int64, error)
}

// RunFilter narrows a run list.
type RunFilter struct {
	PipelineID int64
	Statuses   []string
}

// PipelineRuns stores runs with their stages and jobs. Writes of an existing row are conditional
// on its Version (optimistic concurrency): Save reports false, and changes nothing, when the row
// changed since it was read; on success the record's Version is the new one.
type PipelineRuns interface {
	// Create stores a run with its stages and their jobs (d.Jobs by stage index) and fills in
	// every ID. Call it inside a transaction with NextBuildNumber.
	Create(ctx context.Context, d *RunDetail) error
	Get(ctx context.Context, id int64) (*PipelineRun, error)
	Detail(ctx context.Context, id int64) (*RunDetail, error)
	// List sorts by build number, newest first (default "-build_number"), or by id.
	List(ctx context.Context, f RunFilter, opts ListOptions) (Page[PipelineRun], error)
	// Active returns the ids of runs that are not terminal and not paused (for resyncs).
	Active(ctx context.Context) ([]int64, error)
	// Latest returns the newest run of each pipeline in ids (pipelines without runs are absent).
	Latest(ctx context.Context, pipelineIDs []int64) (map[int64]PipelineRun, error)
	SaveRun(ctx context.Context, r *PipelineRun, fields ...string) (bool, error)
	SaveStage(ctx context.Context, s *StageRun, fields ...string) (bool, error)
	SaveJob(ctx context.Context, j *JobRun, fields ...string) (bool, error)
	GetJob(ctx context.Context, id int64) (*JobRun, error)
	// DeleteByPipeline removes a pipeline's runs, stages, jobs and logs.
	DeleteByPipeline(ctx context.Context, pipelineID int64) error
}

// JobDispatch holds the conditional transitions of the spacelet protocol: each succeeds for
// exactly one caller, which is what makes a job run once across replicas.
type JobDispatch interface {
	// Claim starts the oldest job assigned to the spacelet and still waiting: status doing, lease
	// until leaseUntil. It returns nil when there is none.
	Claim(ctx context.Context, spaceletID int64, leaseUntil time.Time) (*JobRun, error)
	// Extend renews the lease of a job the spacelet runs and returns the job's status (cancel
	// tells the spacelet to stop). A job no longer the spacelet's is errs.NotFound.
	Extend(ctx context.Context, jobID, spaceletID int64, leaseUntil time.Time) (string, error)
	// Finish records a result of a job the spacelet runs (status ok, error or canceled) and
	// reports whether it changed the job: a repeated report of a finished job is not an error.
	Finish(ctx context.Context, jobID, spaceletID int64, r JobResult) (bool, error)
	// Running counts the jobs assigned to a spacelet that wait or run (its load).
	Running(ctx context.Context, spaceletID int64) (int64, error)
}

// JobResult is what a spacelet reports when a job ends.
type JobResult struct {
	Status   string
	Message  string
	ExitCode int
	Outputs  string // JSON object of strings
	At       time.Time
}

// LogChunk is a piece of a job's log at a byte offset.
type LogChunk struct {
	ID        int64 `gorm:"primaryKey"`
	JobRunID  int64 `gorm:"not null;uniqueIndex:uniq_log_chunk"`
	Offset    int64 `gorm:"column:byte_offset;not null;uniqueIndex:uniq_log_chunk"`
	Size      int64 `gorm:"not null"`
	Data      []byte
	CreatedAt time.Time
}

// JobLogs stores job logs as chunks; they are appended, never rewritten.
type JobLogs interface {
	// Append stores data at offset. A chunk at an offset already covered is ignored (a resend);
	// an offset past the end is errs.Conflict (a gap). It returns the log's size after.
	Append(ctx context.Context, jobID, offset int64, data []byte) (int64, error)
	// Read returns up to limit chunks covering bytes from offset on, in order.
	Read(ctx context.Context, jobID, offset int64, limit int) ([]LogChunk, error)
	// Size returns the log's size in bytes.
	Size(ctx context.Context, jobID int64) (int64, error)
	// DeleteFinishedBefore removes the logs of jobs that finished before t.
	DeleteFinishedBefore(ctx context.Context, t time.Time) (int64, error)
}
