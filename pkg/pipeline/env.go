package pipeline

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Run variables: the environment every job of a run starts from (the names of the original).
const (
	EnvWorkspaceID   = "PIPELINE_WORKSPACE_ID"
	EnvWorkspaceName = "PIPELINE_WORKSPACE_NAME"
	EnvPipelineID    = "PIPELINE_PIPELINE_ID"
	EnvPipelineName  = "PIPELINE_PIPELINE_NAME"
	// EnvName is PIPELINE_PIPELINE_NAME under the shorter name scripts expect.
	EnvName         = "PIPELINE_NAME"
	EnvBuildNumber  = "PIPELINE_BUILD_NUMBER"
	EnvTrigger      = "PIPELINE_TRIGGER"
	EnvTriggerUser  = "PIPELINE_TRIGGER_USER"
	EnvBuildID      = "PIPELINE_BUILD_ID"
	EnvCodeURL      = "PIPELINE_CODE_URL"
	EnvCodeType     = "PIPELINE_CODE_TYPE"
	EnvCodeBranch   = "PIPELINE_CODE_BRANCH"
	EnvCodeCommitID = "PIPELINE_CODE_COMMIT_ID"
	EnvCodeAuthor   = "PIPELINE_CODE_COMMIT_AUTHOR"
	EnvCodeMessage  = "PIPELINE_CODE_COMMIT_MESSAGE"
	EnvCodeTime     = "PIPELINE_CODE_COMMIT_TIME"
	// EnvOutput names the file a job writes KEY=VALUE output lines to (set by the spacelet).
	EnvOutput = "PIPELINE_OUTPUT"
)

// ReservedPrefix starts the names the platform sets. Stage parameters may not use it, and job
// outputs cannot overwrite such variables: a script cannot fake the build number or the commit
// a later stage deploys.
const ReservedPrefix = "PIPELINE_"

// identityVars describe the run itself; a run inheriting a source run's variables (custom
// workspaces) never takes these from it.
var identityVars = []string{EnvWorkspaceID, EnvWorkspaceName, EnvPipelineID, EnvPipelineName, EnvName,
	EnvBuildNumber, EnvTrigger, EnvTriggerUser, EnvBuildID}

// CodeInfo is the commit a code run builds.
type CodeInfo struct {
	URL      string
	Provider string // github, gitlab, gitee or git
	Branch   string
	CommitID string
	Author   string
	Message  string
	Time     time.Time
}

// RunInfo is what RunEnv builds a run's variables from.
type RunInfo struct {
	WorkspaceID   int64
	WorkspaceName string
	PipelineID    int64
	PipelineName  string
	BuildNumber   int64
	Trigger       string // manual, cron, push, poll, pipeline
	TriggerUser   string
	// Code is the commit of a code run (nil for custom runs).
	Code *CodeInfo
	// SourceRunIDs are the runs of source pipelines a custom run uses (PIPELINE_BUILD_ID).
	SourceRunIDs []int64
	// Inherited are the variables of those source runs, merged in order; their identity
	// variables are dropped and the run's own variables win.
	Inherited []map[string]string
}

// RunEnv builds the variables of a run (PIPELINE_BUILD_NUMBER, PIPELINE_CODE_BRANCH, ...).
func RunEnv(in RunInfo) map[string]string {
	env := map[string]string{}
	for _, src := range in.Inherited {
		for k, v := range src {
			env[k] = v
		}
	}
	for _, k := range identityVars {
		delete(env, k)
	}
	env[EnvWorkspaceID] = strconv.FormatInt(in.WorkspaceID, 10)
	env[EnvWorkspaceName] = in.WorkspaceName
	env[EnvPipelineID] = strconv.FormatInt(in.PipelineID, 10)
	env[EnvPipelineName] = in.PipelineName
	env[EnvName] = in.PipelineName
	env[EnvBuildNumber] = strconv.FormatInt(in.BuildNumber, 10)
	env[EnvTrigger] = in.Trigger
	env[EnvTriggerUser] = in.TriggerUser
	if len(in.SourceRunIDs) > 0 {
		ids := make([]string, len(in.SourceRunIDs))
		for i, id := range in.SourceRunIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		env[EnvBuildID] = strings.Join(ids, ",")
	}
	if c := in.Code; c != nil {
		env[EnvCodeURL] = c.URL
		env[EnvCodeType] = c.Provider
		env[EnvCodeBranch] = c.Branch
		env[EnvCodeCommitID] = c.CommitID
		env[EnvCodeAuthor] = c.Author
		env[EnvCodeMessage] = c.Message
		if !c.Time.IsZero() {
			env[EnvCodeTime] = c.Time.UTC().Format(time.RFC3339)
		}
	}
	return env
}

// StageEnv is the environment of a stage's jobs: the run variables, then the outputs of the
// jobs of earlier stages in order (later ones win), then the stage's parameters. The inputs are
// not modified.
func StageEnv(runEnv map[string]string, earlierOutputs []map[string]string, params map[string]string) map[string]string {
	env := MergeOutputs(runEnv, earlierOutputs...)
	for k, v := range params {
		if !strings.HasPrefix(k, ReservedPrefix) {
			env[k] = v
		}
	}
	return env
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidEnvName reports whether name can be an environment variable.
func ValidEnvName(name string) bool { return envName.MatchString(name) }

// MergeOutputs returns a copy of env with the job outputs merged in order (later ones win).
// Outputs named like platform variables (PIPELINE_...) or not valid variable names are dropped.
func MergeOutputs(env map[string]string, outputs ...map[string]string) map[string]string {
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	for _, o := range outputs {
		for k, v := range o {
			if strings.HasPrefix(k, ReservedPrefix) || !ValidEnvName(k) {
				continue
			}
			out[k] = v
		}
	}
	return out
}
