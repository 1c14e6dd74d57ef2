// Package run is the pipeline run state machine: starting runs (build numbers, the copied
// definition, the run environment, sources), the actions people take on them (execute a paused
// stage, cancel, retry, re-execute) and the reconcile step the runs controller drives. Every
// change of an existing row is a conditional update on its version, so two controller-managers,
// or a controller and a user acting at once, never both win: the loser re-reads and tries again.
package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubespace/kubespace/pkg/audit"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
)

// Commit is one commit of a repository.
type Commit struct {
	ID      string
	Author  string
	Message string
	Time    time.Time
}

// Commits reads a code workspace's repository (the workspace service provides it).
type Commits interface {
	// Resolve returns the commit a run of branch builds: commit itself when set (checked to
	// exist on the branch), else the branch's head. A missing branch or commit is errs.Invalid
	// or errs.NotFound with a message saying which; an unreachable repository errs.Unavailable.
	Resolve(ctx context.Context, workspaceID int64, branch, commit string) (Commit, error)
}

// Deps are what the service works with.
type Deps struct {
	Store store.Store
	Bus   eventbus.Bus
	// Events publishes live updates (nil: none).
	Events *events.Publisher
	// Commits resolves the commits of code workspaces (nil: code runs cannot start).
	Commits Commits
	// Audit records starts made by triggers (API calls are audited by the API); nil: none.
	Audit *audit.Log
	Log   *slog.Logger
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
	// PlacementCache keeps the spacelets and their loads this long between placements (0:
	// read them for every placement). The controllers use a fraction of a second: under load
	// it saves a query per spacelet per placed job.
	PlacementCache time.Duration
}

// Service starts runs and acts on them. It is safe for concurrent use.
type Service struct {
	d         Deps
	placement *placementCache
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, placement: newPlacementCache(d.PlacementCache)}
}

// SourceRef picks the run of a source pipeline a custom run uses (RunID 0: its latest
// successful run).
type SourceRef struct {
	PipelineID int64 `json:"pipeline_id"`
	RunID      int64 `json:"run_id,omitempty"`
}

// StartRequest is what starts a run.
type StartRequest struct {
	// Branch (required for code workspaces) and Commit (default: the branch's head).
	Branch string
	Commit string
	// Params are extra run variables (names must be shell variable names; PIPELINE_* are the
	// run's own and cannot be set).
	Params map[string]string
	// Sources choose the source runs of a custom pipeline (default: each source's latest
	// successful run).
	Sources []SourceRef
	// Trigger is store.TriggerManual, TriggerCron, TriggerPush, TriggerPoll or TriggerPipeline;
	// User who started it (for triggers: the trigger's description, e.g. "cron").
	Trigger string
	User    string
	// UserID is the user who started it (0 for triggers), for the audit log.
	UserID int64
}

// SourceRecord is what a run records about where its inputs came from.
type SourceRecord struct {
	Type string `json:"type"`
	// Code sources.
	Branch   string `json:"branch,omitempty"`
	CommitID string `json:"commit_id,omitempty"`
	// Pipeline sources.
	PipelineID  int64 `json:"pipeline_id,omitempty"`
	RunID       int64 `json:"run_id,omitempty"`
	BuildNumber int64 `json:"build_number,omitempty"`
}

// Bounds of variables given by people (start and stage parameters), well inside the text
// columns that hold environments (64 KiB on MySQL) with the run's own variables and outputs.
const (
	maxParams      = 100
	maxParamBytes  = 8 << 10
	maxParamsBytes = 16 << 10
	// maxEnvBytes bounds a stage's environment as stored (JSON); a stage whose earlier outputs
	// push it past this fails with a message instead of failing to save.
	maxEnvBytes = 60000
)

// Start creates a run of a pipeline and nudges the controller. The build number is taken in the
// transaction that creates the run, so concurrent starts get distinct numbers.
func (s *Service) Start(ctx context.Context, pipelineID int64, req StartRequest) (*RunView, error) {
	p, err := s.d.Store.Pipelines.Get(ctx, pipelineID)
	if err != nil {
		return nil, err
	}
	ws, err := s.d.Store.PipelineWorkspaces.Get(ctx, p.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("workspace of pipeline %d: %w", p.ID, err)
	}
	var def pipeline.Definition
	if err := json.Unmarshal([]byte(p.Definition), &def); err != nil {
		return nil, errs.Unprocessablef("pipeline %d has an unreadable definition: save it again", p.ID)
	}
	if len(def.Stages) == 0 {
		return nil, errs.Unprocessablef("pipeline %q has no stages: add one before running it", p.Name)
	}
	if req.Trigger == "" {
		req.Trigger = store.TriggerManual
	}
	params, err := checkParams(req.Params)
	if err != nil {
		return nil, err
	}
	in := runEnvInput{Params: params, Info: pipeline.RunInfo{WorkspaceID: ws.ID, WorkspaceName: ws.Name, PipelineID: p.ID,
		PipelineName: p.Name, Trigger: req.Trigger, TriggerUser: req.User}}
	var sources []SourceRecord
	switch ws.Type {
	case store.WorkspaceCode:
		if len(req.Sources) > 0 {
			return nil, errs.Field("sources", "is only for pipelines of custom workspaces; this pipeline builds code: send branch (and commit)")
		}
		code, err := s.resolveCode(ctx, ws, &def, req.Branch, req.Commit)
		if err != nil {
			return nil, err
		}
		in.Info.Code = code
		sources = append(sources, SourceRecord{Type: pipeline.SourceCode, Branch: code.Branch, CommitID: code.CommitID})
	default:
		if req.Branch != "" || req.Commit != "" {
			return nil, errs.Field("branch", "is only for pipelines of code workspaces; this pipeline's workspace has no repository")
		}
		recs, inherited, err := s.resolveSources(ctx, p, &def, req.Sources)
		if err != nil {
			return nil, err
		}
		sources, in.Info.Inherited = recs, inherited
		for _, r := range recs {
			in.Info.SourceRunIDs = append(in.Info.SourceRunIDs, r.RunID)
		}
	}
	if sources == nil {
		sources = []SourceRecord{}
	}

	var d *store.RunDetail
	err = s.d.Store.Tx.WithTx(ctx, func(ctx context.Context) error {
		n, err := s.d.Store.Pipelines.NextBuildNumber(ctx, p.ID)
		if err != nil {
			return err
		}
		in.Info.BuildNumber = n
		d = newRunDetail(p, &def, n, runEnv(in), sources, params, req)
		return s.d.Store.PipelineRuns.Create(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	s.nudgeRun(ctx, d.Run.ID)
	s.publish(ctx, events.Event{Kind: events.KindRun, ObjectID: d.Run.ID, RunID: d.Run.ID, PipelineID: p.ID, WorkspaceID: p.WorkspaceID, Status: d.Run.Status})
	if req.Trigger != store.TriggerManual && s.d.Audit != nil {
		s.d.Audit.Record(ctx, &store.AuditEvent{UserID: req.UserID, Username: req.User, Action: "start", Scope: store.ScopePipelineWorkspace,
			ScopeID: p.WorkspaceID, ResourceType: "pipeline_run", ResourceID: fmt.Sprint(d.Run.ID),
			ResourceName: fmt.Sprintf("%s #%d", p.Name, d.Run.BuildNumber), Result: "success",
			Summary: fmt.Sprintf("started by the %s trigger (%s)", req.Trigger, req.User)})
	}
	return viewOf(d), nil
}

// newRunDetail builds the rows of a new run from the definition it copies.
func newRunDetail(p *store.Pipeline, def *pipeline.Definition, n int64, env Env, sources []SourceRecord, params Env, req StartRequest) *store.RunDetail {
	d := &store.RunDetail{Run: store.PipelineRun{
		PipelineID: p.ID, WorkspaceID: p.WorkspaceID, BuildNumber: n, Status: store.StatusWait,
		Trigger: req.Trigger, TriggerUser: truncate(req.User, 64), Definition: p.Definition,
		Env: encode(env), Source: encode(sources), Params: encode(params),
	}}
	for i, st := range def.Stages {
		mode := st.TriggerMode
		if mode == "" {
			mode = store.StageAuto
		}
		d.Stages = append(d.Stages, store.StageRun{Idx: i, Name: st.Name, TriggerMode: mode, Status: store.StatusWait,
			CustomParams: encode(defaultParams(st.CustomParams)), Env: "{}", Outputs: "{}"})
		jobs := make([]store.JobRun, 0, len(st.Jobs))
		for j, job := range st.Jobs {
			params := string(job.Params)
			if params == "" || params == "null" {
				params = "{}"
			}
			jobs = append(jobs, store.JobRun{Idx: j, Name: job.Name, PluginKey: job.PluginKey, Params: params,
				Schedule: encode(job.Schedule), TimeoutSeconds: job.TimeoutSeconds, Retries: job.Retries,
				Status: store.StatusWait, Env: "{}", Outputs: "{}"})
		}
		d.Jobs = append(d.Jobs, jobs)
	}
	return d
}

func defaultParams(ps []pipeline.Param) Env {
	e := Env{}
	for _, p := range ps {
		e[p.Name] = p.Default
	}
	return e
}

// checkParams validates run variables given at start.
func checkParams(in map[string]string) (Env, error) {
	if len(in) > maxParams {
		return nil, errs.Field("params", "has %d variables; at most %d are allowed", len(in), maxParams)
	}
	out := Env{}
	for k, v := range in {
		switch {
		case !pipeline.ValidEnvName(k):
			return nil, errs.Field("params", "%q is not a variable name (letters, digits and _; not starting with a digit)", k)
		case identityVar(k):
			return nil, errs.Field("params", "%q: PIPELINE_* variables are set by the run itself", k)
		case len(v) > maxParamBytes:
			return nil, errs.Field("params", "%q is longer than %d bytes", k, maxParamBytes)
		}
		out[k] = v
	}
	if n := len(encode(out)); n > maxParamsBytes {
		return nil, errs.Field("params", "take %d bytes; at most %d are allowed", n, maxParamsBytes)
	}
	return out, nil
}

// resolveCode checks the branch against the pipeline's code sources and resolves the commit.
func (s *Service) resolveCode(ctx context.Context, ws *store.PipelineWorkspace, def *pipeline.Definition, branch, commit string) (*pipeline.CodeInfo, error) {
	if branch == "" {
		return nil, errs.Field("branch", "is required: this pipeline builds code from %s", ws.CodeURL)
	}
	if strings.ContainsAny(branch, " \t\n~^:?*[\\") || len(branch) > 255 {
		return nil, errs.Field("branch", "%q is not a valid branch name", branch)
	}
	if commit != "" && !isHex(commit) {
		return nil, errs.Field("commit", "%q is not a commit id (hexadecimal)", commit)
	}
	if src, ok := def.CodeSource(); ok && !pipeline.MatchBranch(src.Branches, branch) {
		return nil, errs.Field("branch", "%q does not match the branch rules of this pipeline's code source", branch)
	}
	if s.d.Commits == nil {
		return nil, errs.New(errs.Unavailable, "the repository of workspace %q cannot be read by this server", ws.Name)
	}
	c, err := s.d.Commits.Resolve(ctx, ws.ID, branch, commit)
	if err != nil {
		return nil, err
	}
	return &pipeline.CodeInfo{URL: ws.CodeURL, Provider: ws.CodeProvider, Branch: branch, CommitID: c.ID, Author: c.Author,
		Message: c.Message, Time: c.Time}, nil
}

func isHex(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// resolveSources picks the source runs of a custom pipeline and returns the variables they pass
// on (each run's environment and every stage's outputs).
func (s *Service) resolveSources(ctx context.Context, p *store.Pipeline, def *pipeline.Definition, refs []SourceRef) ([]SourceRecord, []map[string]string, error) {
	var declared []int64
	for _, src := range def.Sources {
		if src.Type == pipeline.SourcePipeline {
			declared = append(declared, src.PipelineID)
		}
	}
	chosen := map[int64]int64{}
	for _, r := range refs {
		if !slices.Contains(declared, r.PipelineID) {
			return nil, nil, errs.Field("sources", "pipeline %d is not a source of pipeline %q", r.PipelineID, p.Name)
		}
		if _, dup := chosen[r.PipelineID]; dup {
			return nil, nil, errs.Field("sources", "pipeline %d is named twice", r.PipelineID)
		}
		chosen[r.PipelineID] = r.RunID
	}
	var recs []SourceRecord
	var inherited []map[string]string
	for _, pid := range declared {
		runID := chosen[pid]
		var src *store.PipelineRun
		if runID == 0 {
			page, err := s.d.Store.PipelineRuns.List(ctx, store.RunFilter{PipelineID: pid, Statuses: []string{store.StatusOK}},
				store.ListOptions{Limit: 1, Sort: "-build_number"})
			if err != nil {
				return nil, nil, err
			}
			if len(page.Items) == 0 {
				return nil, nil, errs.Unprocessablef("source pipeline %d has no successful run to take variables from: run it first", pid)
			}
			src = &page.Items[0]
		} else {
			r, err := s.d.Store.PipelineRuns.Get(ctx, runID)
			if errs.Is(err, errs.NotFound) {
				return nil, nil, errs.Field("sources", "run %d does not exist", runID)
			}
			if err != nil {
				return nil, nil, err
			}
			if r.PipelineID != pid {
				return nil, nil, errs.Field("sources", "run %d is not a run of pipeline %d", runID, pid)
			}
			if r.Status != store.StatusOK {
				return nil, nil, errs.Field("sources", "run %d did not succeed (status %s): only successful runs can be sources", runID, r.Status)
			}
			src = r
		}
		d, err := s.d.Store.PipelineRuns.Detail(ctx, src.ID)
		if err != nil {
			return nil, nil, err
		}
		env := decodeEnv(d.Run.Env)
		for _, st := range d.Stages {
			for k, v := range decodeEnv(st.Outputs) {
				env[k] = v
			}
		}
		inherited = append(inherited, env)
		recs = append(recs, SourceRecord{Type: pipeline.SourcePipeline, PipelineID: pid, RunID: src.ID, BuildNumber: src.BuildNumber})
	}
	return recs, inherited, nil
}

// nudgeRun tells the controller to look at a run (best effort: its resync covers a loss).
func (s *Service) nudgeRun(ctx context.Context, id int64) {
	if s.d.Bus == nil {
		return
	}
	if err := nudge.Publish(ctx, s.d.Bus, nudge.TopicRun, id); err != nil && !errors.Is(err, context.Canceled) {
		s.d.Log.WarnContext(ctx, "nudging the runs controller failed", "run_id", id, "error", err)
	}
}

func (s *Service) publish(ctx context.Context, ev events.Event) {
	if s.d.Events == nil {
		return
	}
	if err := s.d.Events.Publish(ctx, ev); err != nil {
		s.d.Log.DebugContext(ctx, "publishing a live update failed", "kind", ev.Kind, "id", ev.ObjectID, "error", err)
	}
}

// truncate cuts s to at most n bytes without splitting a character (columns are sized in bytes
// on SQLite and checked as UTF-8 on MySQL).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
