package triggers_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestCronMissedTicksRunOnceAndReplicasFireOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "custom")
		p := newPipeline(t, s, ws.ID, "nightly", pipeline.Definition{
			Triggers: []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "0 * * * *", TimeZone: "Asia/Shanghai"}},
		})
		st := &starts{}
		clk := &clock{t: time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)}
		newCtl := func() *triggers.Controller {
			return triggers.New(stores(s), st, nil, nil, triggers.Config{Now: clk.Now})
		}
		a, b := newCtl(), newCtl()

		a.CronOnce(ctx)
		require.Zero(t, st.count(), "a new trigger starts counting, it does not fire")
		clk.set(time.Date(2026, 6, 1, 10, 59, 0, 0, time.UTC))
		a.CronOnce(ctx)
		require.Zero(t, st.count(), "not due yet")

		// The controllers were down for five hours: five ticks missed, one run.
		clk.set(time.Date(2026, 6, 1, 16, 0, 5, 0, time.UTC))
		var wg sync.WaitGroup
		for _, c := range []*triggers.Controller{a, b, a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); c.CronOnce(ctx) }()
		}
		wg.Wait()
		require.Equal(t, []start{{p.ID, triggers.StartRequest{Trigger: store.TriggerCron}}}, st.list())

		a.CronOnce(ctx)
		b.CronOnce(ctx)
		require.Equal(t, 1, st.count(), "the tick fired; the next is at 17:00")

		clk.set(time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC))
		b.CronOnce(ctx)
		a.CronOnce(ctx)
		require.Equal(t, 2, st.count())
	})
}

func TestCronEditedScheduleRestartsCounting(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "custom")
		p := newPipeline(t, s, ws.ID, "nightly", pipeline.Definition{
			Triggers: []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "0 * * * *"}},
		})
		st := &starts{}
		clk := &clock{t: time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)}
		c := triggers.New(stores(s), st, nil, nil, triggers.Config{Now: clk.Now})
		c.CronOnce(ctx)

		// Edited to daily at 03:00 before the hourly tick: no run at 11:00.
		d := newPipeline(t, s, ws.ID, "tmp", pipeline.Definition{Triggers: []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "0 3 * * *"}}})
		p.Definition = d.Definition
		require.NoError(t, s.Pipelines.Update(ctx, p))
		require.NoError(t, s.Pipelines.Delete(ctx, d.ID))
		clk.set(time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC))
		c.CronOnce(ctx)
		require.Zero(t, st.count())
		clk.set(time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC))
		c.CronOnce(ctx)
		require.Equal(t, 1, st.count())
	})
}

func TestCronOfCodePipelineBuildsNewestMatchingBranch(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "shop")
		p := newPipeline(t, s, ws.ID, "branches", pipeline.Definition{
			Sources:  code(exclude("main")),
			Triggers: []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "*/5 * * * *"}},
		})
		h := &heads{}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		h.set(ws.ID,
			triggers.Branch{Name: "main", Commit: "aaaaaaa", Time: base.Add(3 * time.Hour)},
			triggers.Branch{Name: "feat-a", Commit: "bbbbbbb", Time: base.Add(time.Hour)},
			triggers.Branch{Name: "feat-b", Commit: "ccccccc", Time: base.Add(2 * time.Hour)},
		)
		st := &starts{}
		clk := &clock{t: time.Date(2026, 6, 1, 10, 1, 0, 0, time.UTC)}
		c := triggers.New(stores(s), st, h, nil, triggers.Config{Now: clk.Now})
		c.CronOnce(ctx)
		clk.set(time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC))
		c.CronOnce(ctx)
		require.Equal(t, []start{{p.ID, triggers.StartRequest{Trigger: store.TriggerCron, Branch: "feat-b", Commit: "ccccccc"}}}, st.list())
	})
}

func TestInstrumentCountsStarts(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "custom")
		newPipeline(t, s, ws.ID, "nightly", pipeline.Definition{Triggers: []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "@hourly"}}})
		reg := prometheus.NewRegistry()
		clk := &clock{t: time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)}
		c := triggers.New(stores(s), &starts{}, nil, nil, triggers.Config{Now: clk.Now, Metrics: reg})
		c.CronOnce(ctx)
		clk.set(time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC))
		c.CronOnce(ctx)
		// A second controller on the same registry shares the counters.
		triggers.New(stores(s), &starts{}, nil, nil, triggers.Config{Metrics: reg})
		require.Equal(t, 1.0, counterValue(t, reg, "kubespace_pipeline_trigger_runs_started_total", "cron"))
	})
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, trigger string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "trigger" && l.GetValue() == trigger {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{trigger=%q}", name, trigger)
	return 0
}
