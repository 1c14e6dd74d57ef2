package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/pipeline/dispatch"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// world is a database (MariaDB, the production engine), an in-process bus and the dispatch
// service running, with helpers that play the run controller: create runs, assign, cancel.
type world struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	bus   eventbus.Bus
	svc   *dispatch.Service
	seq   atomic.Int64
	pipe  int64
	space int64
}

type worldOpts struct {
	checkouts dispatch.Checkouts
	sqlite    bool
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := database.Config{}
	if o.sqlite {
		cfg.SQLitePath = filepath.Join(t.TempDir(), "ks.db")
	} else {
		cfg.MySQL = testdeps.MySQLDatabase(t)
	}
	db, err := database.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	bus := membus.New(membus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	st := db.Store()
	w := &world{t: t, ctx: ctx, st: st, bus: bus}
	w.svc = dispatch.New(dispatch.Deps{Spacelets: st.Spacelets, Tokens: st.SpaceletTokens, Dispatch: st.JobDispatch, Runs: st.PipelineRuns,
		Logs: st.JobLogs, Bus: bus, Checkouts: o.checkouts, PollTimeout: 2 * time.Second, Log: slog.New(slog.DiscardHandler)})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.svc.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	ws := &store.PipelineWorkspace{Name: "ws", Type: store.WorkspaceCustom}
	require.NoError(t, st.PipelineWorkspaces.Create(ctx, ws))
	p := &store.Pipeline{WorkspaceID: ws.ID, Name: "p", Definition: "{}"}
	require.NoError(t, st.Pipelines.Create(ctx, p))
	w.space, w.pipe = ws.ID, p.ID
	return w
}

// token creates a registration token valid for hours.
func (w *world) token(hours int) string {
	ct, err := w.svc.CreateToken(w.ctx, 1, dispatch.TokenInput{Name: "t", ExpiresInHours: &hours}, "http://ks.example")
	require.NoError(w.t, err)
	return ct.Token
}

// agent starts a spacelet in process with its own data directory and the built-in plugins.
func (w *world) agent(name string, labels map[string]string, checkout spacelet.Checkouter) (*spacelet.Agent, string) {
	dir := w.t.TempDir()
	a := spacelet.New(w.svc.LocalPeer(), spacelet.Config{Name: name, Labels: labels, Capacity: 2, DataDir: dir,
		RegistrationToken: w.token(1), Version: "test", Plugins: builtin.Default(), Checkout: checkout})
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		require.NoError(w.t, <-done)
	})
	require.Eventually(w.t, func() bool { return a.ID() != 0 }, 10*time.Second, 10*time.Millisecond)
	return a, dir
}

// job creates a run with one job of the shell plugin and returns the job.
func (w *world) job(script string, timeoutSeconds int, env map[string]string) *store.JobRun {
	params, _ := json.Marshal(map[string]string{"script": script})
	envJSON, _ := json.Marshal(env)
	var d *store.RunDetail
	err := w.st.Tx.WithTx(w.ctx, func(ctx context.Context) error {
		n, err := w.st.Pipelines.NextBuildNumber(ctx, w.pipe)
		if err != nil {
			return err
		}
		d = &store.RunDetail{
			Run:    store.PipelineRun{PipelineID: w.pipe, WorkspaceID: w.space, BuildNumber: n, Status: store.StatusDoing, Trigger: store.TriggerManual},
			Stages: []store.StageRun{{Idx: 0, Name: "s", TriggerMode: store.StageAuto, Status: store.StatusDoing}},
			Jobs: [][]store.JobRun{{{Idx: 0, Name: fmt.Sprintf("j%d", w.seq.Add(1)), PluginKey: "execute_shell", Params: string(params),
				TimeoutSeconds: timeoutSeconds, Status: store.StatusWait, Env: string(envJSON)}}},
		}
		return w.st.PipelineRuns.Create(ctx, d)
	})
	require.NoError(w.t, err)
	j := d.Jobs[0][0]
	return &j
}

// assign plays the run controller: the job goes to the spacelet, which is nudged.
func (w *world) assign(j *store.JobRun, spaceletID int64) {
	cur, err := w.st.PipelineRuns.GetJob(w.ctx, j.ID)
	require.NoError(w.t, err)
	now := time.Now()
	cur.SpaceletID, cur.AssignedAt = spaceletID, &now
	ok, err := w.st.PipelineRuns.SaveJob(w.ctx, cur, "SpaceletID", "AssignedAt")
	require.NoError(w.t, err)
	require.True(w.t, ok)
	require.NoError(w.t, nudge.Publish(w.ctx, w.bus, nudge.TopicAssigned, spaceletID))
}

// setStatus changes a job's status as the controller would (cancel, or failing it) and nudges.
func (w *world) setStatus(jobID int64, status string) {
	for {
		cur, err := w.st.PipelineRuns.GetJob(w.ctx, jobID)
		require.NoError(w.t, err)
		cur.Status = status
		ok, err := w.st.PipelineRuns.SaveJob(w.ctx, cur, "Status")
		require.NoError(w.t, err)
		if ok {
			break
		}
	}
	require.NoError(w.t, nudge.Publish(w.ctx, w.bus, nudge.TopicCancel, jobID))
}

// waitStatus waits until the job has status and returns it.
func (w *world) waitStatus(jobID int64, status string, within time.Duration) *store.JobRun {
	w.t.Helper()
	var j *store.JobRun
	require.Eventually(w.t, func() bool {
		var err error
		j, err = w.st.PipelineRuns.GetJob(w.ctx, jobID)
		require.NoError(w.t, err)
		return j.Status == status
	}, within, 5*time.Millisecond, "job %d never reached %s (it is %+v)", jobID, status, j)
	return j
}

// logOf reads a job's whole log.
func (w *world) logOf(jobID int64) string {
	chunks, err := w.st.JobLogs.Read(w.ctx, jobID, 0, 1000)
	require.NoError(w.t, err)
	var out []byte
	for _, c := range chunks {
		out = append(out, c.Data...)
	}
	return string(out)
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
