package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/internal/app"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

// The run routes act in the pipeline workspace of the pipeline or run the path names: the
// permission world's target pipeline workspace (w.targetPWS), where personas hold the role they
// hold in the target cluster.

func init() {
	objectMakers["pipeline-runs"] = func(t testing.TB, admin *apitest.Client) int64 {
		return pausedRun(t, admin.S.App, runWorkspace(t, admin.S.App)).ID
	}
	paramMakers[":stage_id"] = func(t testing.TB, admin *apitest.Client, before []string) string {
		id, err := strconv.ParseInt(before[len(before)-2], 10, 64)
		require.NoError(t, err)
		v, err := admin.S.App.Runs.Get(context.Background(), id)
		require.NoError(t, err)
		return fmt.Sprint(v.Stages[0].ID)
	}
	// A fresh run per call: paused at its manual stage, or ended (canceled) for the actions
	// that need an ended run.
	runFixture := func(ended bool, tail string) func(*testing.T, *permWorld, *caller, int64) string {
		return func(t *testing.T, w *permWorld, _ *caller, target int64) string {
			v := pausedRun(t, w.s.App, w.targetPWS(t, target))
			if ended {
				v = endRun(t, w.s.App, v.ID)
			}
			return strings.NewReplacer(":stage_id", fmt.Sprint(v.Stages[0].ID)).Replace(fmt.Sprintf("/pipeline-runs/%d", v.ID) + tail)
		}
	}
	pathFixtures["/pipelines/:id/runs"] = func(t *testing.T, w *permWorld, _ *caller, target int64) string {
		return apitest.Path("/pipelines/%d/runs", runPipeline(t, w.s.App, w.targetPWS(t, target)).ID)
	}
	pathFixtures["/pipeline-runs/:id"] = runFixture(false, "")
	pathFixtures["/pipeline-runs/:id/cancel"] = runFixture(false, "/cancel")
	pathFixtures["/pipeline-runs/:id/stages/:stage_id/execute"] = runFixture(false, "/stages/:stage_id/execute")
	pathFixtures["/pipeline-runs/:id/stages/:stage_id/cancel"] = runFixture(false, "/stages/:stage_id/cancel")
	pathFixtures["/pipeline-runs/:id/stages/:stage_id/retry"] = runFixture(true, "/stages/:stage_id/retry")
	pathFixtures["/pipeline-runs/:id/stages/:stage_id/reexecute"] = runFixture(true, "/stages/:stage_id/reexecute")

	fuzzTargets["POST /pipelines/:id/runs"] = FuzzStartRun
	fuzzTargets["GET /pipelines/:id/runs"] = FuzzListRuns
	fuzzTargets["POST /pipeline-runs/:id/stages/:stage_id/execute"] = FuzzExecuteStage
	fuzzTargets["POST /pipeline-runs/:id/stages/:stage_id/reexecute"] = FuzzReexecuteStage
}

// runWorkspace creates a custom pipeline workspace through the store.
func runWorkspace(t testing.TB, a *app.App) int64 {
	w := &store.PipelineWorkspace{Name: fmt.Sprintf("runs-%d", time.Now().UnixNano()), Type: store.WorkspaceCustom}
	require.NoError(t, a.Store.PipelineWorkspaces.Create(context.Background(), w))
	return w.ID
}

// bind grants role r in pipeline workspace ws.
func bind(t testing.TB, a *app.App, uid, ws int64, r access.Role) {
	require.NoError(t, a.Store.RoleBindings.Create(context.Background(),
		&store.RoleBinding{UserID: uid, Scope: store.ScopePipelineWorkspace, ScopeID: ws, Role: r.String()}))
}

// runDefinition has a manual stage (with a TARGET parameter) and an automatic one.
func runDefinition() pipeline.Definition {
	job := func(name string) pipeline.Job {
		return pipeline.Job{Name: name, PluginKey: "execute_shell", Params: json.RawMessage(`{"script":"echo $TARGET"}`)}
	}
	return pipeline.Definition{Stages: []pipeline.Stage{
		{Name: "approve", TriggerMode: pipeline.StageManual, CustomParams: []pipeline.Param{{Name: "TARGET", Default: "staging"}},
			Jobs: []pipeline.Job{job("announce")}},
		{Name: "ship", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{job("ship")}},
	}}
}

// runPipeline stores a pipeline of runDefinition in workspace ws.
func runPipeline(t testing.TB, a *app.App, ws int64) *store.Pipeline {
	def := runDefinition()
	b, err := json.Marshal(def)
	require.NoError(t, err)
	p := &store.Pipeline{WorkspaceID: ws, Name: fmt.Sprintf("p-%d", time.Now().UnixNano()), Definition: string(b)}
	require.NoError(t, a.Store.Pipelines.Create(context.Background(), p))
	return p
}

// syncRun reconciles a run once (the tests here run no controllers unless they say so).
func syncRun(t testing.TB, a *app.App, id int64) *run.RunView {
	for i := 0; i < 20; i++ {
		res, err := a.Runs.Sync(context.Background(), id)
		require.NoError(t, err)
		if !res.Retry {
			break
		}
	}
	v, err := a.Runs.Get(context.Background(), id)
	require.NoError(t, err)
	return v
}

// pausedRun starts a run of a new pipeline in ws and lets it reach its manual stage.
func pausedRun(t testing.TB, a *app.App, ws int64) *run.RunView {
	v, err := a.Runs.Start(context.Background(), runPipeline(t, a, ws).ID, run.StartRequest{User: "fixture"})
	require.NoError(t, err)
	v = syncRun(t, a, v.ID)
	require.Equal(t, store.StatusPause, v.Status)
	return v
}

// endRun cancels a run and lets the cancellation finish.
func endRun(t testing.TB, a *app.App, id int64) *run.RunView {
	_, err := a.Runs.Cancel(context.Background(), id, "fixture")
	require.NoError(t, err)
	v := syncRun(t, a, id)
	require.Equal(t, store.StatusCanceled, v.Status)
	return v
}

// TestRunsAPI drives a run through the API with the controllers running in-process and a
// spacelet simulated through the store's dispatch transitions: start (201), list, the manual
// stage executed with a parameter, the job's result, the finished run; and the 4xx answers.
func TestRunsAPI(t *testing.T) {
	t.Parallel()
	onEachEngine(t, map[string]string{"RUN_CONTROLLERS": "true"}, func(t *testing.T, s *apitest.Server) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.App.RunControllers(ctx) }()
		defer func() {
			cancel()
			require.NoError(t, <-done)
		}()
		admin := s.Admin()
		ws := runWorkspace(t, s.App)
		p := runPipeline(t, s.App, ws)
		editor := s.User(admin, "runs-editor", "platform", 0, "")
		bind(t, s.App, editor.UserID, ws, access.Editor)
		viewer := s.User(admin, "runs-viewer", "platform", 0, "")
		bind(t, s.App, viewer.UserID, ws, access.Viewer)
		stranger := s.User(admin, "runs-stranger", "platform", 0, "")

		sl := &store.Spacelet{Name: "api-spacelet", Hostname: "h", Capacity: 2, CredentialHash: "api-spacelet"}
		require.NoError(t, s.App.Store.Spacelets.Create(ctx, sl))
		require.NoError(t, s.App.Store.Spacelets.Seen(ctx, sl.ID, time.Now()))

		var v run.RunView
		editor.Expect(http.StatusCreated, http.MethodPost, apitest.Path("/api/v1/pipelines/%d/runs", p.ID),
			map[string]any{"params": map[string]string{"RELEASE": "7"}}).JSON(t, &v)
		require.EqualValues(t, 1, v.BuildNumber)
		require.Equal(t, "runs-editor", v.TriggerUser)
		require.Equal(t, "7", v.Env["RELEASE"])
		require.Len(t, v.Stages, 2)

		var list struct {
			Items []run.RunView `json:"items"`
			Total int64         `json:"total"`
		}
		viewer.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipelines/%d/runs", p.ID), nil).JSON(t, &list)
		require.EqualValues(t, 1, list.Total)
		require.Nil(t, list.Items[0].Stages, "lists leave stages out")
		requireError(t, viewer.Do(http.MethodPost, apitest.Path("/api/v1/pipelines/%d/runs", p.ID), map[string]any{}), http.StatusForbidden, "")
		requireError(t, stranger.Do(http.MethodGet, apitest.Path("/api/v1/pipeline-runs/%d", v.ID), nil), http.StatusForbidden, "")

		get := func() run.RunView {
			var out run.RunView
			viewer.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipeline-runs/%d", v.ID), nil).JSON(t, &out)
			return out
		}
		require.Eventually(t, func() bool { return get().Status == store.StatusPause }, 30*time.Second, 20*time.Millisecond)
		stage := get().Stages[0]
		requireField(t, editor.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-runs/%d/stages/%d/execute", v.ID, stage.ID),
			map[string]any{"params": map[string]string{"NOPE": "1"}}), "params")
		editor.Expect(http.StatusOK, http.MethodPost, apitest.Path("/api/v1/pipeline-runs/%d/stages/%d/execute", v.ID, stage.ID),
			map[string]any{"params": map[string]string{"TARGET": "production"}})
		requireError(t, editor.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-runs/%d/stages/%d/execute", v.ID, stage.ID), map[string]any{}),
			http.StatusConflict, "")

		finished := 0
		require.Eventually(t, func() bool {
			j, err := s.App.Store.JobDispatch.Claim(ctx, sl.ID, time.Now().Add(time.Minute))
			require.NoError(t, err)
			if j != nil {
				env := map[string]string{}
				require.NoError(t, json.Unmarshal([]byte(j.Env), &env))
				require.Equal(t, "production", env["TARGET"])
				_, err = s.App.Store.JobDispatch.Finish(ctx, j.ID, sl.ID, store.JobResult{Status: store.StatusOK, Outputs: "{}", At: time.Now()})
				require.NoError(t, err)
				require.NoError(t, nudge.Publish(ctx, s.App.Bus, nudge.TopicRun, j.RunID)) // as the protocol server does
				finished++
			}
			return finished == 2 && get().Status == store.StatusOK
		}, 60*time.Second, 20*time.Millisecond)
		final := get()
		require.Equal(t, "runs-editor", final.Stages[0].ExecutedBy)
		require.NotNil(t, final.FinishedAt)

		requireError(t, editor.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-runs/%d/cancel", v.ID), nil), http.StatusConflict, "")
		editor.Expect(http.StatusOK, http.MethodPost, apitest.Path("/api/v1/pipeline-runs/%d/stages/%d/reexecute", v.ID, final.Stages[1].ID), map[string]any{})
		requireError(t, editor.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-runs/%d/stages/%d/retry", v.ID, 99999999), nil), http.StatusNotFound, "")
		requireError(t, admin.Do(http.MethodGet, "/api/v1/pipeline-runs/99999999", nil), http.StatusNotFound, "")
		requireField(t, editor.Do(http.MethodPost, apitest.Path("/api/v1/pipelines/%d/runs", p.ID), map[string]any{"branch": "main"}), "branch")
		requireField(t, editor.Do(http.MethodPost, apitest.Path("/api/v1/pipelines/%d/runs", p.ID),
			map[string]any{"params": map[string]string{"PIPELINE_BUILD_NUMBER": "9"}}), "params")

		var audit struct {
			Items []store.AuditEvent `json:"items"`
		}
		admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?resource_type=pipeline_run&sort=id", nil).JSON(t, &audit)
		var actions []string
		for _, e := range audit.Items {
			if e.Result == "success" {
				actions = append(actions, e.Username+" "+e.Action)
			}
		}
		require.Equal(t, []string{"runs-editor start", "runs-editor execute_stage", "runs-editor reexecute_stage"}, actions)
	})
}

func FuzzStartRun(f *testing.F) {
	fuzzBody(f, "POST /pipelines/:id/runs", `{"branch":"main"}`, `{"sources":[{"pipeline_id":1,"run_id":-1}]}`,
		`{"params":{"PIPELINE_X":"1"}}`, `{"params":{"A B":"1"}}`, `{"commit":"zz"}`)
}

func FuzzListRuns(f *testing.F) {
	fuzzQuery(f, "GET /pipelines/:id/runs", "sort=id&limit=1", "sort=-build_number")
}

func FuzzExecuteStage(f *testing.F) {
	fuzzBody(f, "POST /pipeline-runs/:id/stages/:stage_id/execute", `{"params":{"TARGET":"x"}}`, `{"params":{"NOPE":"x"}}`)
}

func FuzzReexecuteStage(f *testing.F) {
	fuzzBody(f, "POST /pipeline-runs/:id/stages/:stage_id/reexecute", `{"params":{"TARGET":"x"}}`, `{"params":null}`)
}
