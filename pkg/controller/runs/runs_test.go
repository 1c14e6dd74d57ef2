package runs_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/controller/runs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// worker simulates a spacelet through the store's dispatch transitions (what the protocol
// server does for a real one): it claims its jobs, "runs" them, reports ok and nudges the run.
type worker struct {
	env *runtest.Env
	id  int64
	mu  sync.Mutex
	ran map[int64]int // job id -> executions
}

func (w *worker) run(ctx context.Context) error {
	for ctx.Err() == nil {
		j, err := w.env.Store.JobDispatch.Claim(ctx, w.id, time.Now().Add(30*time.Second))
		if err != nil || j == nil {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		w.mu.Lock()
		w.ran[j.ID]++
		w.mu.Unlock()
		if _, err := w.env.Store.JobDispatch.Finish(ctx, j.ID, w.id, store.JobResult{Status: store.StatusOK, Outputs: `{"DONE":"1"}`, At: time.Now()}); err != nil {
			return err
		}
		_ = nudge.Publish(ctx, w.env.Bus, nudge.TopicRun, j.RunID)
	}
	return nil
}

func waitRuns(t *testing.T, svc *run.Service, ids []int64, status string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			v, err := svc.Get(context.Background(), id)
			require.NoError(t, err)
			if v.Status == status {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d is %s (%s), not %s", id, v.Status, v.Reason, status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func twoStageDef() pipeline.Definition {
	return pipeline.Definition{Stages: []pipeline.Stage{
		{Name: "a", Jobs: []pipeline.Job{runtest.ShellJob("a1", "true"), runtest.ShellJob("a2", "true")}},
		{Name: "b", Jobs: []pipeline.Job{runtest.ShellJob("b1", "true")}},
	}}
}

// TestTwoControllers runs two controllers (as two controller-managers would) on one database
// and bus while 20 runs are started at once: every run finishes and every job ran exactly once.
func TestTwoControllers(t *testing.T) {
	for _, engine := range runtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := runtest.Open(t, engine)
			ctx, cancel := context.WithCancel(context.Background())
			g, gctx := errgroup.WithContext(ctx)
			var svcs []*run.Service
			reg := prometheus.NewRegistry()
			for i := 0; i < 2; i++ {
				svc := run.New(run.Deps{Store: e.Store, Bus: e.Bus, Log: quiet})
				svcs = append(svcs, svc)
				var r prometheus.Registerer
				if i == 0 {
					r = reg
				}
				c := runs.New(svc, e.Store.PipelineRuns, e.Bus, r, quiet, runs.Options{Resync: 500 * time.Millisecond})
				g.Go(func() error { return c.Run(gctx) })
			}
			var workers []*worker
			for i := 0; i < 3; i++ {
				w := &worker{env: e, id: e.Spacelet(t, "h", nil, 2).ID, ran: map[int64]int{}}
				workers = append(workers, w)
				g.Go(func() error { return w.run(gctx) })
			}
			defer func() {
				cancel()
				require.NoError(t, g.Wait())
			}()
			ws := e.Workspace(t, store.WorkspaceCustom)
			p := e.Pipeline(t, ws.ID, twoStageDef())
			var mu sync.Mutex
			var ids []int64
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := svcs[i%2].Start(ctx, p.ID, run.StartRequest{User: "load"})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, v.ID)
					mu.Unlock()
				}()
			}
			wg.Wait()
			require.Len(t, ids, 20)
			waitRuns(t, svcs[0], ids, store.StatusOK)
			executions := map[int64]int{}
			for _, w := range workers {
				w.mu.Lock()
				for id, n := range w.ran {
					executions[id] += n
				}
				w.mu.Unlock()
			}
			require.Len(t, executions, 20*3, "every job ran")
			for id, n := range executions {
				require.Equal(t, 1, n, "job %d ran %d times", id, n)
			}
			v, err := svcs[0].Get(ctx, ids[0])
			require.NoError(t, err)
			require.Equal(t, "1", v.Stages[0].Outputs["DONE"])
			require.Greater(t, testutil.CollectAndCount(reg, "kubespace_pipeline_job_duration_seconds"), 0)
		})
	}
}

// TestLostNudge: a run whose nudge never arrives (started by a service with no bus) is still
// picked up by the resync.
func TestLostNudge(t *testing.T) {
	e := runtest.Open(t, "sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	mute := run.New(run.Deps{Store: e.Store, Log: quiet})
	svc := run.New(run.Deps{Store: e.Store, Bus: e.Bus, Log: quiet})
	c := runs.New(svc, e.Store.PipelineRuns, e.Bus, nil, quiet, runs.Options{Resync: 200 * time.Millisecond})
	g.Go(func() error { return c.Run(gctx) })
	w := &worker{env: e, id: e.Spacelet(t, "h", nil, 2).ID, ran: map[int64]int{}}
	g.Go(func() error { return w.run(gctx) })
	defer func() {
		cancel()
		require.NoError(t, g.Wait())
	}()
	ws := e.Workspace(t, store.WorkspaceCustom)
	p := e.Pipeline(t, ws.ID, twoStageDef())
	v, err := mute.Start(ctx, p.ID, run.StartRequest{User: "x"})
	require.NoError(t, err)
	waitRuns(t, svc, []int64{v.ID}, store.StatusOK)
}
