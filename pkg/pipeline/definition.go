// Package pipeline holds pipeline definitions — sources, triggers, ordered stages of parallel
// jobs — with their validation, YAML import and export, branch rules and variable flow. It is
// pure: no I/O, so it is tested with plain tables.
package pipeline

import "encoding/json"

// Definition is a pipeline as users write it (the body of create/update and the YAML of
// export/import).
type Definition struct {
	Name        string    `json:"name" yaml:"name"`
	Description string    `json:"description,omitempty" yaml:"description,omitempty"`
	Sources     []Source  `json:"sources" yaml:"sources,omitempty"`
	Triggers    []Trigger `json:"triggers" yaml:"triggers,omitempty"`
	Stages      []Stage   `json:"stages" yaml:"stages"`
}

// Source kinds.
const (
	SourceCode     = "code"     // the workspace's repository, on branches matching the rules
	SourcePipeline = "pipeline" // successful runs of another pipeline (custom workspaces)
)

// Branch rule kinds.
const (
	BranchExact   = "exact"
	BranchExclude = "exclude"
	BranchRegex   = "regex"
)

// Source is where a run's code or inputs come from.
type Source struct {
	Type string `json:"type" yaml:"type"`
	// Branches select the code branches that run (code sources; none: every branch).
	Branches []BranchRule `json:"branches,omitempty" yaml:"branches,omitempty"`
	// PipelineID names the source pipeline (pipeline sources).
	PipelineID int64 `json:"pipeline_id,omitempty" yaml:"pipeline_id,omitempty"`
}

// BranchRule matches branch names: exact, exclude (every branch but this one) or regex.
type BranchRule struct {
	Type    string `json:"type" yaml:"type"`
	Pattern string `json:"pattern" yaml:"pattern"`
}

// Trigger kinds.
const (
	TriggerCron     = "cron"     // on a schedule
	TriggerPush     = "push"     // on new commits (webhook, and polling when Poll is set)
	TriggerPipeline = "pipeline" // when another pipeline's run succeeds
)

// Trigger starts runs by itself.
type Trigger struct {
	Type string `json:"type" yaml:"type"`
	// Schedule is a 5-field cron expression and TimeZone an IANA zone (default UTC).
	Schedule string `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	// Poll also polls the repository for new commits (a fallback where webhooks cannot reach).
	Poll bool `json:"poll,omitempty" yaml:"poll,omitempty"`
	// PipelineID names the pipeline whose successful runs start this one.
	PipelineID int64 `json:"pipeline_id,omitempty" yaml:"pipeline_id,omitempty"`
}

// Stage trigger modes.
const (
	StageAuto   = "auto"
	StageManual = "manual"
)

// Stage is a step of a pipeline: its jobs run in parallel; stages run in order.
type Stage struct {
	Name        string `json:"name" yaml:"name"`
	TriggerMode string `json:"trigger_mode" yaml:"trigger_mode"`
	// CustomParams are asked for when the stage runs (manual stages) and join its environment.
	CustomParams []Param `json:"custom_params,omitempty" yaml:"custom_params,omitempty"`
	Jobs         []Job   `json:"jobs" yaml:"jobs"`
}

// Param is a stage parameter.
type Param struct {
	Name        string `json:"name" yaml:"name"`
	Default     string `json:"default,omitempty" yaml:"default,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Job is one unit of work: a plugin with its params, placed on a spacelet by its schedule.
type Job struct {
	Name           string          `json:"name" yaml:"name"`
	PluginKey      string          `json:"plugin_key" yaml:"plugin_key"`
	Params         json.RawMessage `json:"params" yaml:"params"`
	Schedule       Schedule        `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	TimeoutSeconds int             `json:"timeout_seconds,omitempty" yaml:"timeout_seconds,omitempty"`
	Retries        int             `json:"retries,omitempty" yaml:"retries,omitempty"`
}

// Schedule places a job: on the spacelet with this hostname, else on one carrying all these
// labels, else on the least loaded.
type Schedule struct {
	Hostname string            `json:"hostname,omitempty" yaml:"hostname,omitempty"`
	Labels   map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}
