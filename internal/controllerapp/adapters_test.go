package controllerapp_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/controllerapp"
	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/store"
)

// TestAdapters runs the glue between the run service, the workspace service and the triggers
// against a real git repository served by git http-backend: runs of code pipelines build the
// branch head read over git, triggers see the branches, and a chained run takes the run that
// chained it as its source (custom pipelines) or builds the same commit (code pipelines).
func TestAdapters(t *testing.T) {
	ctx := context.Background()
	e := runtest.Open(t, "sqlite")
	repos := gittest.New(t)
	repo := repos.Create("team/app.git")
	repo.Commit("main", "initial", map[string]string{"README.md": "app\n"})
	mainTip := repo.Commit("main", "add main.go", map[string]string{"main.go": "package main\n"})
	repo.Commit("dev", "wip", map[string]string{"wip.txt": "wip\n"})
	srv := repos.ServeHTTP(gittest.HTTPOptions{})

	ws := workspace.New(workspace.Deps{Store: e.Store, Log: slog.New(slog.DiscardHandler)})
	code := &store.PipelineWorkspace{Name: "code", Type: store.WorkspaceCode, CodeProvider: "git", CodeURL: srv.RepoURL("team/app.git")}
	require.NoError(t, e.Store.PipelineWorkspaces.Create(ctx, code))
	runs := run.New(run.Deps{Store: e.Store, Bus: e.Bus, Commits: controllerapp.Commits(ws)})
	def := pipeline.Definition{Sources: []pipeline.Source{{Type: pipeline.SourceCode}},
		Stages: []pipeline.Stage{{Name: "build", Jobs: []pipeline.Job{runtest.ShellJob("b", "make")}}}}
	build := e.Pipeline(t, code.ID, def)

	v, err := runs.Start(ctx, build.ID, run.StartRequest{Branch: "main", User: "alice"})
	require.NoError(t, err)
	require.Equal(t, mainTip, v.Env[pipeline.EnvCodeCommitID])
	require.Equal(t, "add main.go", v.Env[pipeline.EnvCodeMessage])
	_, err = runs.Start(ctx, build.ID, run.StartRequest{Branch: "nope"})
	require.Error(t, err, "a missing branch is refused")

	branches, err := controllerapp.Branches(ws).Branches(ctx, code.ID)
	require.NoError(t, err)
	names := map[string]string{}
	for _, b := range branches {
		names[b.Name] = b.Commit
	}
	require.Equal(t, mainTip, names["main"])
	require.Contains(t, names, "dev")

	// Chaining a code pipeline: it builds the commit of the run that chained it.
	starter := controllerapp.Starter(runs, e.Store)
	deploy := e.Pipeline(t, code.ID, def)
	id, err := starter.Start(ctx, deploy.ID, triggers.StartRequest{Trigger: store.TriggerPipeline, SourceRunID: v.ID})
	require.NoError(t, err)
	chained, err := runs.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, mainTip, chained.Env[pipeline.EnvCodeCommitID])
	require.Equal(t, "main", chained.Env[pipeline.EnvCodeBranch])
	require.Equal(t, store.TriggerPipeline, chained.Trigger)

	// Chaining a custom pipeline that takes the chaining pipeline as its source.
	custom := e.Workspace(t, store.WorkspaceCustom)
	src := e.Pipeline(t, custom.ID, pipeline.Definition{Stages: def.Stages})
	sl := e.Spacelet(t, "h", nil, 1)
	sv, err := runs.Start(ctx, src.ID, run.StartRequest{User: "x"})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err = runs.Sync(ctx, sv.ID)
		require.NoError(t, err)
		if j := e.Claim(t, sl.ID); j != nil {
			e.Finish(t, j, store.StatusOK, map[string]string{"IMAGE": "app:9"})
		}
	}
	sv, err = runs.Get(ctx, sv.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusOK, sv.Status)
	consumer := e.Pipeline(t, custom.ID, pipeline.Definition{Sources: []pipeline.Source{{Type: pipeline.SourcePipeline, PipelineID: src.ID}},
		Stages: def.Stages})
	id, err = starter.Start(ctx, consumer.ID, triggers.StartRequest{Trigger: store.TriggerPipeline, SourceRunID: sv.ID})
	require.NoError(t, err)
	cv, err := runs.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, sv.ID, cv.Sources[0].RunID)
	require.Equal(t, "app:9", cv.Env["IMAGE"])
	require.Equal(t, "pipeline", cv.TriggerUser, "a trigger without a user is named by its kind")
}
