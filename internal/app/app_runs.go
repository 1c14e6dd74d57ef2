package app

import (
	"context"

	"github.com/kubespace/kubespace/internal/controllerapp"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
)

// setupRuns builds the run service. ws (nil: none yet) reads the repositories of code
// workspaces: without it, runs of code pipelines cannot start.
func (a *App) setupRuns(ws *workspace.Service) {
	var commits run.Commits
	if ws != nil {
		commits = controllerapp.Commits(ws)
		a.runBranches = controllerapp.Branches(ws)
	}
	a.Runs = run.New(run.Deps{Store: a.Store, Bus: a.Bus, Events: a.Publish, Commits: commits, Audit: a.Audit, Log: a.log,
		PlacementCache: controllerapp.PlacementCache})
}

// RunControllers runs the pipeline controllers (runs, triggers, spacelet health) in this
// process until ctx ends, when RUN_CONTROLLERS is on (the default of the embedded mode, where
// the server is the whole platform); otherwise it returns at once and controller-managers do
// the work.
func (a *App) RunControllers(ctx context.Context) error {
	if !a.Config.RunControllers {
		return nil
	}
	return controllerapp.Run(ctx, controllerapp.Parts{Store: a.Store, Bus: a.Bus, Runs: a.Runs, Events: a.Publish,
		Registry: a.Registry, Log: a.log, Branches: a.runBranches})
}

// runBranches lets the in-process triggers read branch heads (nil until a workspace service is
// wired).
type runBranches = triggers.Branches
