package triggers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
)

func finishedRun(t *testing.T, s store.Store, p *store.Pipeline, n int64, status string, at time.Time) *store.PipelineRun {
	t.Helper()
	d := &store.RunDetail{Run: store.PipelineRun{PipelineID: p.ID, WorkspaceID: p.WorkspaceID, BuildNumber: n, Status: status, Trigger: store.TriggerManual, FinishedAt: &at}}
	require.NoError(t, s.PipelineRuns.Create(t.Context(), d))
	return &d.Run
}

func TestChainingStartsOncePerSuccessfulRun(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "custom")
		build := newPipeline(t, s, ws.ID, "build", pipeline.Definition{})
		deploy := newPipeline(t, s, ws.ID, "deploy", pipeline.Definition{Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: build.ID}}})
		newPipeline(t, s, ws.ID, "unrelated", pipeline.Definition{})
		st := &starts{}
		a := triggers.New(stores(s), st, nil, nil, triggers.Config{})
		b := triggers.New(stores(s), st, nil, nil, triggers.Config{})

		// A success from before the trigger was saved is not replayed.
		old := finishedRun(t, s, build, 1, store.StatusOK, deploy.UpdatedAt.Add(-time.Hour))
		require.NoError(t, a.ChainRun(ctx, old.ID))
		a.ChainResyncOnce(ctx)
		require.Zero(t, st.count())

		failed := finishedRun(t, s, build, 2, store.StatusError, time.Now().Add(time.Hour))
		require.NoError(t, a.ChainRun(ctx, failed.ID))
		require.Zero(t, st.count())

		ok := finishedRun(t, s, build, 3, store.StatusOK, time.Now().Add(time.Hour))
		require.NoError(t, a.ChainRun(ctx, ok.ID))
		require.NoError(t, b.ChainRun(ctx, ok.ID))
		a.ChainResyncOnce(ctx)
		b.ChainResyncOnce(ctx)
		require.Equal(t, []start{{deploy.ID, triggers.StartRequest{Trigger: store.TriggerPipeline, SourceRunID: ok.ID}}}, st.list())

		// A lost nudge: the resync finds the newest success.
		ok2 := finishedRun(t, s, build, 4, store.StatusOK, time.Now().Add(time.Hour))
		b.ChainResyncOnce(ctx)
		require.Equal(t, 2, st.count())
		require.Equal(t, ok2.ID, st.list()[1].Req.SourceRunID)
		require.NoError(t, a.ChainRun(ctx, ok.ID), "an older success never starts it again")
		require.Equal(t, 2, st.count())
		require.NoError(t, a.ChainRun(ctx, 99999), "a missing run is no error")
	})
}

// TestRunLoopChainsOnNudge drives the controller through Run: a run nudge on the bus starts the
// chained pipeline.
func TestRunLoopChainsOnNudge(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ws := codeWorkspace(t, s, "custom")
		build := newPipeline(t, s, ws.ID, "build", pipeline.Definition{})
		deploy := newPipeline(t, s, ws.ID, "deploy", pipeline.Definition{Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: build.ID}}})
		bus := membus.New(membus.Options{})
		t.Cleanup(func() { _ = bus.Close() })
		st := &starts{}
		// Resyncs far apart: only the nudge can start it within the test.
		c := triggers.New(stores(s), st, nil, bus, triggers.Config{ChainResync: time.Hour, CronInterval: time.Hour, PollInterval: time.Hour})
		ctx := t.Context()
		done := make(chan error, 1)
		runCtx, cancel := context.WithCancel(ctx)
		go func() { done <- c.Run(runCtx) }()

		// The first resync has run once at start; a success after it arrives by nudge.
		require.Eventually(t, func() bool {
			ok := finishedRun(t, s, build, int64(time.Now().UnixNano()%1e9), store.StatusOK, time.Now().Add(time.Hour))
			_ = nudge.Publish(ctx, bus, nudge.TopicRun, ok.ID)
			time.Sleep(50 * time.Millisecond)
			return st.count() > 0
		}, 20*time.Second, 100*time.Millisecond)
		require.Equal(t, deploy.ID, st.list()[0].Pipeline)
		cancel()
		require.NoError(t, <-done)

	})
}

func TestChainingRetriesAFailedStart(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "custom")
		build := newPipeline(t, s, ws.ID, "build", pipeline.Definition{})
		deploy := newPipeline(t, s, ws.ID, "deploy", pipeline.Definition{Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPipeline, PipelineID: build.ID}}})
		st := &starts{fail: errors.New("database down")}
		c := triggers.New(stores(s), st, nil, nil, triggers.Config{})
		ok := finishedRun(t, s, build, 1, store.StatusOK, time.Now().Add(time.Hour))
		require.ErrorContains(t, c.ChainRun(ctx, ok.ID), "database down")

		st.mu.Lock()
		st.fail = nil
		st.mu.Unlock()
		require.NoError(t, c.ChainRun(ctx, ok.ID))
		require.NoError(t, c.ChainRun(ctx, ok.ID))
		require.Equal(t, []start{{deploy.ID, triggers.StartRequest{Trigger: store.TriggerPipeline, SourceRunID: ok.ID}}}, st.list())
	})
}
