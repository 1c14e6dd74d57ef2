package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
)

// The embedded all-in-one server runs a spacelet of its own: with no other setup, a job of a
// code workspace assigned to it checks out the run's commit from a real git server and runs.
// (The run controller is off here; the test assigns the job as it would.)
func TestEmbeddedLocalSpacelet(t *testing.T) {
	ctx := context.Background()
	r := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "local-spacelet-token-123", "RUN_CONTROLLERS": "false"})
	st := r.app.Store
	var local store.Spacelet
	require.Eventually(t, func() bool {
		all, err := st.Spacelets.All(ctx)
		require.NoError(t, err)
		if len(all) != 1 || all[0].Status != store.SpaceletOnline {
			return false
		}
		local = all[0]
		return true
	}, 10*time.Second, 10*time.Millisecond)
	require.True(t, strings.HasPrefix(local.Name, "local-"), local.Name)
	require.Contains(t, local.Labels, `"kubespace.io/local":"true"`)

	repos := gittest.New(t)
	repo := repos.Create("app.git")
	first := repo.Commit("main", "first", map[string]string{"VERSION": "one"})
	repo.Commit("main", "second", map[string]string{"VERSION": "two"})
	srv := repos.ServeHTTP(gittest.HTTPOptions{})
	ws := &store.PipelineWorkspace{Name: "code", Type: store.WorkspaceCode, CodeProvider: "git", CodeURL: srv.RepoURL("app.git")}
	require.NoError(t, st.PipelineWorkspaces.Create(ctx, ws))
	p := &store.Pipeline{WorkspaceID: ws.ID, Name: "build", Definition: "{}"}
	require.NoError(t, st.Pipelines.Create(ctx, p))
	env, _ := json.Marshal(map[string]string{pipeline.EnvCodeBranch: "main", pipeline.EnvCodeCommitID: first})
	d := &store.RunDetail{Run: store.PipelineRun{PipelineID: p.ID, WorkspaceID: ws.ID, BuildNumber: 1, Status: store.StatusDoing,
		Trigger: store.TriggerManual, Env: string(env)},
		Stages: []store.StageRun{{Name: "s", TriggerMode: store.StageAuto, Status: store.StatusDoing}},
		Jobs: [][]store.JobRun{{{Name: "j", PluginKey: "execute_shell", Params: `{"script":"echo version=$(cat VERSION)"}`,
			Status: store.StatusWait, SpaceletID: local.ID, Env: string(env)}}}}
	require.NoError(t, st.PipelineRuns.Create(ctx, d))
	require.NoError(t, nudge.Publish(ctx, r.app.Bus, nudge.TopicAssigned, local.ID))
	id := d.Jobs[0][0].ID
	var j *store.JobRun
	require.Eventually(t, func() bool {
		var err error
		j, err = st.PipelineRuns.GetJob(ctx, id)
		require.NoError(t, err)
		return store.Terminal(j.Status)
	}, 20*time.Second, 10*time.Millisecond)
	chunks, err := st.JobLogs.Read(ctx, id, 0, 100)
	require.NoError(t, err)
	var log strings.Builder
	for _, c := range chunks {
		log.Write(c.Data)
	}
	require.Equal(t, store.StatusOK, j.Status, "%s\n%s", j.Message, log.String())
	require.Contains(t, log.String(), "checked out "+first[:12]+" (first)")
	require.Contains(t, log.String(), "version=one\n")

	// Removed by an admin, the server's own spacelet comes back (and the server keeps running).
	_, err = r.app.Spacelets.Dispatch.Delete(ctx, local.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		all, err := st.Spacelets.All(ctx)
		require.NoError(t, err)
		return len(all) == 1 && all[0].ID != local.ID && all[0].Name == local.Name && all[0].Status == store.SpaceletOnline
	}, 20*time.Second, 20*time.Millisecond)
}
