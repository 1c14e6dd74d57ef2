package run_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/audit"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

// fakeCommits stands in for the workspace service's repository reader (its own tests run git).
type fakeCommits struct{}

func (fakeCommits) Resolve(_ context.Context, _ int64, branch, commit string) (run.Commit, error) {
	if branch == "missing" {
		return run.Commit{}, errs.NotFoundf("branch %q does not exist", branch)
	}
	if commit == "" {
		commit = "0123456789abcdef0123456789abcdef01234567"
	}
	return run.Commit{ID: commit, Author: "dev", Message: "fix " + branch, Time: time.Unix(1700000000, 0)}, nil
}

// clock is a settable time for lease tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	*runtest.Env
	svc   *run.Service
	clock *clock
}

func newFixture(t *testing.T, engine string) *fixture {
	e := runtest.Open(t, engine)
	c := &clock{t: time.Now()}
	return &fixture{Env: e, clock: c, svc: run.New(run.Deps{Store: e.Store, Bus: e.Bus, Commits: fakeCommits{}, Now: c.now})}
}

// sync runs the reconcile step until it holds (no lost race) and returns the run.
func (f *fixture) sync(t *testing.T, id int64) *run.RunView {
	t.Helper()
	for i := 0; i < 20; i++ {
		res, err := f.svc.Sync(context.Background(), id)
		require.NoError(t, err)
		if !res.Retry {
			v, err := f.svc.Get(context.Background(), id)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("run %d: sync kept losing races", id)
	return nil
}

func forEngines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, engine := range runtest.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, newFixture(t, engine)) })
	}
}

func twoStages() pipeline.Definition {
	return pipeline.Definition{Stages: []pipeline.Stage{
		{Name: "build", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{runtest.ShellJob("compile", "make"), runtest.ShellJob("lint", "make lint")}},
		{Name: "deploy", TriggerMode: pipeline.StageManual, CustomParams: []pipeline.Param{{Name: "TARGET", Default: "staging"}},
			Jobs: []pipeline.Job{runtest.ShellJob("ship", "./ship")}},
	}}
}

// TestConcurrentStarts: 20 runs requested at once on one pipeline get 20 distinct build numbers.
func TestConcurrentStarts(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ws := f.Workspace(t, store.WorkspaceCustom)
		p := f.Pipeline(t, ws.ID, twoStages())
		var wg sync.WaitGroup
		nums := make(chan int64, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := f.svc.Start(context.Background(), p.ID, run.StartRequest{User: "alice"})
				if err != nil {
					t.Error(err)
					return
				}
				nums <- v.BuildNumber
			}()
		}
		wg.Wait()
		close(nums)
		var got []int
		for n := range nums {
			got = append(got, int(n))
		}
		sort.Ints(got)
		want := make([]int, 20)
		for i := range want {
			want[i] = i + 1
		}
		require.Equal(t, want, got)
		page, err := f.svc.List(context.Background(), p.ID, store.ListOptions{})
		require.NoError(t, err)
		require.EqualValues(t, 20, page.Total)
		require.EqualValues(t, 20, page.Items[0].BuildNumber, "newest first")
	})
}

// TestRunToCompletion walks a two-stage run: parallel jobs placed on spacelets, outputs flowing
// into the manual stage, which pauses until executed with a parameter.
func TestRunToCompletion(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ws := f.Workspace(t, store.WorkspaceCode)
		p := f.Pipeline(t, ws.ID, twoStages())
		a := f.Spacelet(t, "host-a", nil, 1)
		b := f.Spacelet(t, "host-b", nil, 1)
		v, err := f.svc.Start(ctx, p.ID, run.StartRequest{Branch: "main", User: "alice", Params: map[string]string{"EXTRA": "1"}})
		require.NoError(t, err)
		require.Equal(t, store.StatusWait, v.Status)
		require.Equal(t, "main", v.Env["PIPELINE_CODE_BRANCH"])
		require.Equal(t, "0123456789abcdef0123456789abcdef01234567", v.Env["PIPELINE_CODE_COMMIT_ID"])
		require.Equal(t, "1", v.Env["PIPELINE_BUILD_NUMBER"])
		require.Equal(t, "alice", v.Env["PIPELINE_TRIGGER_USER"])
		require.Equal(t, "1", v.Env["EXTRA"])

		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Status)
		require.Equal(t, store.StatusDoing, v.Stages[0].Status)
		placed := map[int64]bool{}
		for _, j := range v.Stages[0].Jobs {
			require.NotZero(t, j.SpaceletID)
			placed[j.SpaceletID] = true
		}
		require.Len(t, placed, 2, "least loaded: one job on each spacelet")

		ja, jb := f.Claim(t, a.ID), f.Claim(t, b.ID)
		require.NotNil(t, ja)
		require.NotNil(t, jb)
		require.Nil(t, f.Claim(t, a.ID), "each job is claimed once")
		env := run.Env{}
		require.NoError(t, jsonInto(ja.Env, &env))
		require.Equal(t, "main", env["PIPELINE_CODE_BRANCH"], "jobs are dispatched with the stage environment")
		f.Finish(t, ja, store.StatusOK, map[string]string{"IMAGE": "app:1"})
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Stages[0].Status, "one job still runs")
		f.Finish(t, jb, store.StatusOK, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusOK, v.Stages[0].Status)
		require.Equal(t, "app:1", v.Stages[0].Outputs["IMAGE"])
		require.Equal(t, store.StatusPause, v.Stages[1].Status)
		require.Equal(t, store.StatusPause, v.Status)
		require.Contains(t, v.Reason, "stage deploy waits to be executed")

		_, err = f.svc.Execute(ctx, v.ID, v.Stages[0].ID, nil, "bob")
		require.True(t, errs.Is(err, errs.Conflict), "only paused stages execute: %v", err)
		_, err = f.svc.Execute(ctx, v.ID, v.Stages[1].ID, map[string]string{"NOPE": "x"}, "bob")
		require.True(t, errs.Is(err, errs.Invalid), "undeclared parameter: %v", err)
		_, err = f.svc.Execute(ctx, v.ID, v.Stages[1].ID, map[string]string{"TARGET": "prod"}, "bob")
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Stages[1].Status)
		require.Equal(t, "bob", v.Stages[1].ExecutedBy)
		j := f.Claim(t, v.Stages[1].Jobs[0].SpaceletID)
		require.NotNil(t, j)
		env = run.Env{}
		require.NoError(t, jsonInto(j.Env, &env))
		require.Equal(t, "prod", env["TARGET"], "stage parameter")
		require.Equal(t, "app:1", env["IMAGE"], "output of an earlier stage")
		require.Equal(t, "1", env["PIPELINE_BUILD_NUMBER"])
		f.Finish(t, j, store.StatusOK, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusOK, v.Status)
		require.NotNil(t, v.FinishedAt)
		require.Empty(t, v.Reason)
	})
}

func jsonInto(s string, v any) error { return jsonUnmarshal([]byte(s), v) }

var jsonUnmarshal = json.Unmarshal

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTriggerStartsAreAudited: a start by a trigger is recorded in the audit log with the
// trigger (API starts are recorded by the API, once).
func TestTriggerStartsAreAudited(t *testing.T) {
	e := runtest.Open(t, "sqlite")
	svc := run.New(run.Deps{Store: e.Store, Audit: audit.New(e.Store.Audit, 24*time.Hour, slog.New(slog.DiscardHandler))})
	ws := e.Workspace(t, store.WorkspaceCustom)
	p := e.Pipeline(t, ws.ID, twoStages())
	ctx := context.Background()
	_, err := svc.Start(ctx, p.ID, run.StartRequest{Trigger: store.TriggerCron, User: "cron"})
	require.NoError(t, err)
	_, err = svc.Start(ctx, p.ID, run.StartRequest{Trigger: store.TriggerManual, User: "alice"})
	require.NoError(t, err)
	page, err := e.Store.Audit.List(ctx, store.AuditFilter{ResourceType: "pipeline_run"}, store.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	ev := page.Items[0]
	require.Equal(t, "start", ev.Action)
	require.Equal(t, "cron", ev.Username)
	require.Equal(t, store.ScopePipelineWorkspace, ev.Scope)
	require.Equal(t, ws.ID, ev.ScopeID)
	require.Contains(t, ev.Summary, "cron trigger")
}
