package controllerapp

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/store"
)

// Commits lets the run service resolve commits through the workspace service (git).
func Commits(ws *workspace.Service) run.Commits { return workspaceCommits{ws} }

type workspaceCommits struct{ ws *workspace.Service }

func (c workspaceCommits) Resolve(ctx context.Context, workspaceID int64, branch, commit string) (run.Commit, error) {
	gc, err := c.ws.ResolveCommit(ctx, workspaceID, branch, commit)
	if err != nil {
		return run.Commit{}, err
	}
	return run.Commit{ID: gc.Hash, Author: gc.Author, Message: gc.Message, Time: gc.When}, nil
}

// Branches lets the triggers read branch heads through the workspace service.
func Branches(ws *workspace.Service) triggers.Branches { return workspaceBranches{ws} }

type workspaceBranches struct{ ws *workspace.Service }

func (b workspaceBranches) Branches(ctx context.Context, workspaceID int64) ([]triggers.Branch, error) {
	bs, err := b.ws.Branches(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]triggers.Branch, len(bs))
	for i, br := range bs {
		out[i] = triggers.Branch{Name: br.Name, Commit: br.Commit}
	}
	return out, nil
}

// Starter lets the triggers start runs through the run service.
func Starter(runs *run.Service, st store.Store) triggers.Starter { return starter{runs: runs, st: st} }

type starter struct {
	runs *run.Service
	st   store.Store
}

// Start maps a trigger's request onto the run service's. A chained run (SourceRunID) uses the
// run that chained it as that pipeline's source when the target declares it as one; a chained
// code pipeline builds the commit its source run built.
func (s starter) Start(ctx context.Context, pipelineID int64, req triggers.StartRequest) (int64, error) {
	user := req.User
	if user == "" {
		user = req.Trigger
	}
	r := run.StartRequest{Branch: req.Branch, Commit: req.Commit, Trigger: req.Trigger, User: user}
	if req.SourceRunID != 0 {
		src, err := s.st.PipelineRuns.Get(ctx, req.SourceRunID)
		if err != nil {
			return 0, err
		}
		p, err := s.st.Pipelines.Get(ctx, pipelineID)
		if err != nil {
			return 0, err
		}
		var def pipeline.Definition
		_ = json.Unmarshal([]byte(p.Definition), &def)
		if slices.ContainsFunc(def.Sources, func(so pipeline.Source) bool {
			return so.Type == pipeline.SourcePipeline && so.PipelineID == src.PipelineID
		}) {
			r.Sources = []run.SourceRef{{PipelineID: src.PipelineID, RunID: src.ID}}
		}
		if _, code := def.CodeSource(); code && r.Branch == "" {
			env := map[string]string{}
			_ = json.Unmarshal([]byte(src.Env), &env)
			r.Branch, r.Commit = env[pipeline.EnvCodeBranch], env[pipeline.EnvCodeCommitID]
		}
	}
	v, err := s.runs.Start(ctx, pipelineID, r)
	if err != nil {
		return 0, err
	}
	return v.ID, nil
}
