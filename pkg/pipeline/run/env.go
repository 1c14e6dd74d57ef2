package run

import (
	"encoding/json"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// Env is a set of variables (a run's, a stage's, a job's outputs).
type Env map[string]string

// envName is what a variable name may look like (a shell can export it).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// identityVars are the run variables that say which run this is: inherited from a source run
// they would lie, so they are never copied from one, and params may not override them.
func identityVar(name string) bool {
	return strings.HasPrefix(name, "PIPELINE_")
}

// CodeInfo is the commit a code run builds.
type CodeInfo struct {
	URL      string
	Provider string
	Branch   string
	Commit   Commit
}

// runEnvInput is what the run environment is made of.
type runEnvInput struct {
	Workspace   *store.PipelineWorkspace
	Pipeline    *store.Pipeline
	BuildNumber int64
	Trigger     string
	User        string
	Code        *CodeInfo
	// Inherited are the variables of source runs (custom workspaces), in source order.
	Inherited []Env
	SourceIDs []int64
	Params    Env
}

// runEnv builds the variables every stage of a run sees, named as in the original product.
func runEnv(in runEnvInput) Env {
	e := Env{}
	for _, inh := range in.Inherited {
		for k, v := range inh {
			if !identityVar(k) {
				e[k] = v
			}
		}
	}
	maps.Copy(e, in.Params)
	e["PIPELINE_WORKSPACE_ID"] = strconv.FormatInt(in.Workspace.ID, 10)
	e["PIPELINE_WORKSPACE_NAME"] = in.Workspace.Name
	e["PIPELINE_PIPELINE_ID"] = strconv.FormatInt(in.Pipeline.ID, 10)
	e["PIPELINE_PIPELINE_NAME"] = in.Pipeline.Name
	e["PIPELINE_BUILD_NUMBER"] = strconv.FormatInt(in.BuildNumber, 10)
	e["PIPELINE_TRIGGER"] = in.Trigger
	e["PIPELINE_TRIGGER_USER"] = in.User
	if c := in.Code; c != nil {
		e["PIPELINE_CODE_URL"] = c.URL
		e["PIPELINE_CODE_TYPE"] = c.Provider
		e["PIPELINE_CODE_BRANCH"] = c.Branch
		e["PIPELINE_CODE_COMMIT_ID"] = c.Commit.ID
		e["PIPELINE_CODE_COMMIT_AUTHOR"] = c.Commit.Author
		e["PIPELINE_CODE_COMMIT_MESSAGE"] = c.Commit.Message
		if !c.Commit.Time.IsZero() {
			e["PIPELINE_CODE_COMMIT_TIME"] = c.Commit.Time.UTC().Format(time.RFC3339)
		}
	}
	if len(in.SourceIDs) > 0 {
		ids := make([]string, len(in.SourceIDs))
		for i, id := range in.SourceIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		e["PIPELINE_BUILD_ID"] = strings.Join(ids, ",")
	}
	return e
}

// StageEnv is what a stage's jobs run with: the run's variables, then the outputs of the
// stages before it (later stages override earlier ones), then the stage's parameters.
func StageEnv(run Env, earlierOutputs []Env, params Env) Env {
	e := maps.Clone(run)
	if e == nil {
		e = Env{}
	}
	for _, o := range earlierOutputs {
		maps.Copy(e, o)
	}
	maps.Copy(e, params)
	return e
}

// matchBranch reports whether branch passes a code source's rules: it must match one exact or
// regex rule (when there are any) and no exclude rule. Rules were validated on save.
func matchBranch(rules []pipeline.BranchRule, branch string) bool {
	positive, matched := false, false
	for _, r := range rules {
		switch r.Type {
		case pipeline.BranchExclude:
			if r.Pattern == branch {
				return false
			}
		case pipeline.BranchExact:
			positive = true
			matched = matched || r.Pattern == branch
		case pipeline.BranchRegex:
			positive = true
			if re, err := regexp.Compile(r.Pattern); err == nil && re.MatchString(branch) {
				matched = true
			}
		}
	}
	return !positive || matched
}

// decodeEnv reads a JSON object of strings ("" or null: empty).
func decodeEnv(s string) Env {
	e := Env{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &e)
	}
	if e == nil {
		e = Env{}
	}
	return e
}

// encode writes v as JSON (maps of strings and plain structs never fail).
func encode(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
