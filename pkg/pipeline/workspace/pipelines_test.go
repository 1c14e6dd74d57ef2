package workspace_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/store"
)

func shell(name, script string) pipeline.Job {
	return pipeline.Job{Name: name, PluginKey: "execute_shell", Params: json.RawMessage(`{"script":` + string(mustJSON(script)) + `}`)}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// plain is a pipeline of one shell job, with no source and no trigger.
func plain(name string) pipeline.Definition {
	return pipeline.Definition{Name: name, Stages: []pipeline.Stage{{Name: "s", Jobs: []pipeline.Job{shell("j", "echo hi")}}}}
}

func TestCustomPipelines(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.user(t, "admin", access.Admin)
		ws, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("custom"), Type: ptr("custom")})
		require.NoError(t, err)
		page, err := e.svc.ListPipelines(ctx, ws.ID, store.ListOptions{})
		require.NoError(t, err)
		require.Zero(t, page.Total, "a custom workspace starts empty")
		require.NotNil(t, page.Items)

		// A pipeline with no source at all: started by hand, by cron or by chaining.
		a, err := e.svc.CreatePipeline(ctx, admin, ws.ID, plain("a"))
		require.NoError(t, err)
		require.Equal(t, "auto", a.Stages[0].TriggerMode, "defaults filled in")
		require.NotNil(t, a.Sources)
		require.NotNil(t, a.Triggers)
		require.JSONEq(t, `{"script":"echo hi"}`, string(a.Stages[0].Jobs[0].Params))

		// b takes a's runs as its source and starts after a succeeds.
		b := plain("b")
		b.Sources = []pipeline.Source{{Type: pipeline.SourcePipeline, PipelineID: a.ID}}
		b.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: a.ID}}
		bv, err := e.svc.CreatePipeline(ctx, admin, ws.ID, b)
		require.NoError(t, err)

		// a starting after b would make a cycle.
		cyc := plain("a")
		cyc.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: bv.ID}}
		_, err = e.svc.UpdatePipeline(ctx, admin, a.ID, cyc)
		requireField(t, err, "triggers[0].pipeline_id", "cycle")
		self := plain("a")
		self.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: a.ID}}
		_, err = e.svc.UpdatePipeline(ctx, admin, a.ID, self)
		requireField(t, err, "triggers[0].pipeline_id", "not this one")

		// References must name a pipeline that exists.
		ghost := plain("ghost")
		ghost.Sources = []pipeline.Source{{Type: pipeline.SourcePipeline, PipelineID: 9999}}
		_, err = e.svc.CreatePipeline(ctx, admin, ws.ID, ghost)
		requireField(t, err, "sources[0].pipeline_id", "does not exist")
		// Code sources and push triggers need a code workspace.
		code := plain("code")
		code.Sources = []pipeline.Source{{Type: pipeline.SourceCode}}
		code.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPush}}
		_, err = e.svc.CreatePipeline(ctx, admin, ws.ID, code)
		requireField(t, err, "sources[0].type", "code workspace")
		requireField(t, err, "triggers[0].type", "code workspace")
		// The validator's own checks come through with their paths.
		bad := plain("bad")
		bad.Stages[0].Jobs[0].PluginKey = "no_such_plugin"
		_, err = e.svc.CreatePipeline(ctx, admin, ws.ID, bad)
		requireField(t, err, "stages[0].jobs[0].plugin_key", "")
		// Names are unique in a workspace.
		_, err = e.svc.CreatePipeline(ctx, admin, ws.ID, plain("a"))
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)

		// a cannot go while b uses it; b can, then a.
		_, err = e.svc.DeletePipeline(ctx, a.ID)
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, err.Error(), `"b"`)
		_, err = e.svc.DeletePipeline(ctx, bv.ID)
		require.NoError(t, err)
		_, err = e.svc.DeletePipeline(ctx, a.ID)
		require.NoError(t, err)
	})
}

// A pipeline source or trigger in another workspace must be one the caller can see.
func TestReferencesNeedVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin := e.user(t, "admin", access.Admin)
	hidden, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("hidden"), Type: ptr("custom")})
	require.NoError(t, err)
	secretPipeline, err := e.svc.CreatePipeline(ctx, admin, hidden.ID, plain("secret"))
	require.NoError(t, err)
	mine, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("mine"), Type: ptr("custom")})
	require.NoError(t, err)
	editor := e.user(t, "ws-editor", access.None)
	e.grant(t, editor.User.ID, store.ScopePipelineWorkspace, mine.ID, access.Editor)
	d := plain("chained")
	d.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: secretPipeline.ID}}
	_, err = e.svc.CreatePipeline(ctx, &access.Principal{User: editor.User}, mine.ID, d)
	requireField(t, err, "triggers[0].pipeline_id", "cannot see")
	e.grant(t, editor.User.ID, store.ScopePipelineWorkspace, hidden.ID, access.Viewer)
	_, err = e.svc.CreatePipeline(ctx, &access.Principal{User: editor.User}, mine.ID, d)
	require.NoError(t, err, "a viewer of the other workspace may chain on it")
	// The other workspace cannot go while a pipeline elsewhere chains on one of its pipelines.
	_, err = e.svc.Delete(ctx, hidden.ID)
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	require.Contains(t, err.Error(), `"chained"`)
	// A workspace whose pipelines chain among themselves goes whole.
	inner := plain("inner")
	inner.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: secretPipeline.ID}}
	_, err = e.svc.CreatePipeline(ctx, admin, hidden.ID, inner)
	require.NoError(t, err)
	_, err = e.svc.Delete(ctx, mine.ID)
	require.NoError(t, err)
	_, err = e.svc.Delete(ctx, hidden.ID)
	require.NoError(t, err)
}

// Editing a pipeline changes nothing in runs already started: they keep their copy.
func TestEditKeepsRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin := e.user(t, "admin", access.Admin)
	ws, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("c"), Type: ptr("custom")})
	require.NoError(t, err)
	p, err := e.svc.CreatePipeline(ctx, admin, ws.ID, plain("p"))
	require.NoError(t, err)
	run := startRun(t, e, p.ID, store.StatusDoing)
	before, err := e.st.PipelineRuns.Get(ctx, run)
	require.NoError(t, err)
	edited := plain("p")
	edited.Stages[0].Jobs[0] = shell("j", "echo changed")
	got, err := e.svc.UpdatePipeline(ctx, admin, p.ID, edited)
	require.NoError(t, err)
	require.JSONEq(t, `{"script":"echo changed"}`, string(got.Stages[0].Jobs[0].Params))
	require.NotNil(t, got.LastRun)
	require.Equal(t, run, got.LastRun.ID)
	after, err := e.st.PipelineRuns.Get(ctx, run)
	require.NoError(t, err)
	require.Equal(t, before.Definition, after.Definition)
	require.Contains(t, after.Definition, "echo hi")
	// An active run holds the pipeline.
	_, err = e.svc.DeletePipeline(ctx, p.ID)
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	require.Contains(t, err.Error(), "active runs")
	_, err = e.svc.Delete(ctx, ws.ID)
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
}

func TestExportImport(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.user(t, "admin", access.Admin)
		ws, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("c"), Type: ptr("custom")})
		require.NoError(t, err)
		d := plain("release")
		d.Description = "ships it"
		d.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "30 2 * * *", TimeZone: "Asia/Shanghai"}}
		d.Stages = append(d.Stages, pipeline.Stage{Name: "approve", TriggerMode: "manual",
			CustomParams: []pipeline.Param{{Name: "VERSION", Default: "1.0"}}, Jobs: []pipeline.Job{shell("ship", "echo $VERSION")}})
		p, err := e.svc.CreatePipeline(ctx, admin, ws.ID, d)
		require.NoError(t, err)
		data, name, err := e.svc.Export(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, "release", name)
		require.Contains(t, string(data), "name: release")
		other, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("other"), Type: ptr("custom")})
		require.NoError(t, err)
		imported, err := e.svc.Import(ctx, admin, other.ID, data)
		require.NoError(t, err)
		require.Equal(t, other.ID, imported.WorkspaceID)
		require.Equal(t, p.Definition, imported.Definition, "the round trip keeps the definition")

		// Errors name the line and the field.
		_, err = e.svc.Import(ctx, admin, other.ID, []byte("name: x\nstages:\n  - name: s\n    jobs:\n      - name: j\n        plugin_key: nope\n"))
		require.Error(t, err)
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		require.Contains(t, err.Error(), "line 6")
		_, err = e.svc.Import(ctx, admin, other.ID, []byte("{{{"))
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		_, err = e.svc.Import(ctx, admin, other.ID, data)
		require.True(t, errs.Is(err, errs.Conflict), "the name is taken now: %v", err)
		_, err = e.svc.Import(ctx, admin, 9999, data)
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.False(t, strings.Contains(string(data), "null"), "%s", data)
	})
}
