package httpapi

import (
	"fmt"
	"net/http"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

// StartRunInput starts a run: code pipelines take a branch (and optionally a commit), custom
// pipelines optionally choose their sources' runs; params are extra run variables.
type StartRunInput struct {
	Branch  *string           `json:"branch,omitempty"`
	Commit  *string           `json:"commit,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Sources []run.SourceRef   `json:"sources,omitempty"`
}

// StageParamsInput gives a manual stage its parameters when it is executed or re-executed.
type StageParamsInput struct {
	Params map[string]string `json:"params,omitempty"`
}

// runPipelineScope resolves the pipeline workspace of the pipeline the path names.
func (a *API) runPipelineScope(c *Call) (access.Scope, error) {
	ws, err := a.deps.Runs.WorkspaceOfPipeline(c.Ctx, c.PathID())
	return access.Scope{Kind: store.ScopePipelineWorkspace, ID: ws}, err
}

// runScope resolves the pipeline workspace of the run the path names.
func (a *API) runScope(c *Call) (access.Scope, error) {
	ws, err := a.deps.Runs.WorkspaceOfRun(c.Ctx, c.PathID())
	return access.Scope{Kind: store.ScopePipelineWorkspace, ID: ws}, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func runName(v *run.RunView) string {
	return fmt.Sprintf("pipeline %d #%d", v.PipelineID, v.BuildNumber)
}

func (a *API) registerRuns() {
	rs := a.deps.Runs
	if rs == nil {
		return
	}
	viewer, editor := a.ResourceRole(access.Viewer, a.runScope), a.ResourceRole(access.Editor, a.runScope)
	a.register(&Route{Method: http.MethodPost, Path: "/pipelines/:id/runs", Tag: "pipeline-runs",
		Summary: "Start a run of a pipeline (answers 201 with the run; the controllers take it from there)",
		Guard:   a.ResourceRole(access.Editor, a.runPipelineScope), Resource: "pipeline_run", Action: "start", Status: http.StatusCreated,
		Example: StartRunInput{Params: map[string]string{"RELEASE": "1"}},
		Handler: Do(func(c *Call, in *StartRunInput) (*run.RunView, error) {
			v, err := rs.Start(c.Ctx, c.PathID(), run.StartRequest{Branch: deref(in.Branch), Commit: deref(in.Commit), Params: in.Params,
				Sources: in.Sources, Trigger: store.TriggerManual, User: c.Principal.User.Username, UserID: c.Principal.User.ID})
			if err == nil {
				c.Audit(v.ID, runName(v))
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/pipelines/:id/runs", Tag: "pipeline-runs",
		Summary: "List a pipeline's runs, newest first (without their stages)",
		Guard:   a.ResourceRole(access.Viewer, a.runPipelineScope), Example: ListQuery{Sort: "-build_number"},
		Handler: Do(func(c *Call, q *ListQuery) (List[run.RunView], error) {
			p, err := rs.List(c.Ctx, c.PathID(), q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/pipeline-runs/:id", Tag: "pipeline-runs",
		Summary: "Get a run with its stages and jobs (a waiting job's reason says why it waits)",
		Guard:   viewer, Handler: Do(func(c *Call, _ *NoInput) (*run.RunView, error) { return rs.Get(c.Ctx, c.PathID()) })})
	a.register(&Route{Method: http.MethodPost, Path: "/pipeline-runs/:id/cancel", Tag: "pipeline-runs",
		Summary: "Cancel a run: jobs not started are canceled, running ones are stopped by their spacelets",
		Guard:   editor, Resource: "pipeline_run", Action: "cancel",
		Handler: Do(func(c *Call, _ *NoInput) (*run.RunView, error) {
			v, err := rs.Cancel(c.Ctx, c.PathID(), c.Principal.User.Username)
			if err == nil {
				c.Audit(v.ID, runName(v))
			}
			return v, err
		})})
	withParams := map[string]string{
		run.ActionExecute:   "Execute a paused manual stage with its parameters",
		run.ActionReexecute: "Re-execute a finished stage and every stage after it (the run must have ended)",
	}
	plain := map[string]string{
		run.ActionCancel: "Cancel the run from one of its open stages",
		run.ActionRetry:  "Retry a failed or canceled stage's unsuccessful jobs and continue the run (the run must have ended)",
	}
	for _, action := range run.Actions {
		path := "/pipeline-runs/:id/stages/:stage_id/" + action
		stage := func(c *Call, params map[string]string) (*run.RunView, error) {
			sid, err := c.ID("stage_id")
			if err != nil {
				return nil, err
			}
			v, err := rs.StageAction(c.Ctx, c.PathID(), sid, action, params, c.Principal.User.Username)
			if err == nil {
				c.Audit(v.ID, fmt.Sprintf("%s, stage %d", runName(v), sid))
			}
			return v, err
		}
		route := &Route{Method: http.MethodPost, Path: path, Tag: "pipeline-runs", Guard: editor, Resource: "pipeline_run",
			Action: action + "_stage"}
		if summary, ok := withParams[action]; ok {
			route.Summary, route.Example = summary, StageParamsInput{Params: map[string]string{"TARGET": "production"}}
			route.Handler = Do(func(c *Call, in *StageParamsInput) (*run.RunView, error) { return stage(c, in.Params) })
		} else {
			route.Summary = plain[action]
			route.Handler = Do(func(c *Call, _ *NoInput) (*run.RunView, error) { return stage(c, nil) })
		}
		a.register(route)
	}
}
