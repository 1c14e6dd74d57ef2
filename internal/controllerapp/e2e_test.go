package controllerapp_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/internal/controllerapp"
	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/dispatch"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet"
	"github.com/kubespace/kubespace/pkg/store"
)

// TestPipelineEndToEnd wires the pieces as the embedded all-in-one does — the controllers
// (controllerapp.Run), the spacelet protocol server (dispatch) and a real spacelet agent running
// shell jobs through its in-process peer — on each storage set-up, and drives runs through the
// run service: parallel jobs, an output variable flowing into a manual stage executed with a
// parameter, a failing stage re-executed with another parameter, and a job waiting for a label.
func TestPipelineEndToEnd(t *testing.T) {
	for _, engine := range runtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := runtest.Open(t, engine)
			log := slog.New(slog.DiscardHandler)
			ctx, cancel := context.WithCancel(context.Background())
			g, gctx := errgroup.WithContext(ctx)
			defer func() {
				cancel()
				require.NoError(t, g.Wait())
			}()
			pub := events.NewPublisher(e.Bus)
			hub := events.NewHub(e.Bus, log)
			g.Go(func() error { return hub.Run(gctx) })
			var seen sync.Map // "<kind> <status>" of this test's runs' events
			sub := hub.Subscribe("", func(events.Event) bool { return true })
			defer sub.Close()
			g.Go(func() error {
				for {
					select {
					case <-gctx.Done():
						return nil
					case ev := <-sub.C():
						seen.Store(ev.Kind+" "+ev.Status, true)
					}
				}
			})
			// The hub listens once a probe event comes back through it.
			require.Eventually(t, func() bool {
				_ = pub.Publish(ctx, events.Event{Kind: "probe", Status: "probe"})
				_, ok := seen.Load("probe probe")
				return ok
			}, 10*time.Second, 50*time.Millisecond)
			runs := run.New(run.Deps{Store: e.Store, Bus: e.Bus, Events: pub, Log: log})
			d := dispatch.New(dispatch.Deps{Spacelets: e.Store.Spacelets, Tokens: e.Store.SpaceletTokens, Dispatch: e.Store.JobDispatch,
				Runs: e.Store.PipelineRuns, Logs: e.Store.JobLogs, Bus: e.Bus, Publish: pub, Log: log})
			g.Go(func() error { return d.Run(gctx) })
			g.Go(func() error {
				return controllerapp.Run(gctx, controllerapp.Parts{Store: e.Store, Bus: e.Bus, Runs: runs, Events: pub,
					Registry: prometheus.NewRegistry(), Log: log, Resync: time.Second})
			})
			tok, err := d.CreateToken(ctx, 0, dispatch.TokenInput{Name: "e2e"}, "http://127.0.0.1")
			require.NoError(t, err)
			agent := spacelet.New(d.LocalPeer(), spacelet.Config{Name: "local", Labels: map[string]string{"os": "linux"}, Capacity: 2,
				DataDir: t.TempDir(), RegistrationToken: tok.Token, Plugins: builtin.Default(), Log: log})
			g.Go(func() error { return agent.Run(gctx) })

			ws := e.Workspace(t, store.WorkspaceCustom)
			build := runtest.ShellJob("build", `echo "IMAGE=app:$PIPELINE_BUILD_NUMBER" >> "$PIPELINE_OUTPUT"`)
			lint := runtest.ShellJob("lint", `test -n "$PIPELINE_PIPELINE_ID"`)
			deploy := runtest.ShellJob("deploy", `test "$IMAGE" = app:1 && test "$TARGET" = prod && test "$FLAG" = on`)
			p := e.Pipeline(t, ws.ID, pipeline.Definition{Stages: []pipeline.Stage{
				{Name: "build", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{build, lint}},
				{Name: "deploy", TriggerMode: pipeline.StageManual, CustomParams: []pipeline.Param{{Name: "TARGET", Default: "staging"},
					{Name: "FLAG", Default: "off"}}, Jobs: []pipeline.Job{deploy}},
			}})
			wait := func(id int64, status string) *run.RunView {
				t.Helper()
				var v *run.RunView
				require.Eventually(t, func() bool {
					var err error
					v, err = runs.Get(ctx, id)
					require.NoError(t, err)
					return v.Status == status
				}, 60*time.Second, 20*time.Millisecond, "run %d never became %s", id, status)
				return v
			}
			v, err := runs.Start(ctx, p.ID, run.StartRequest{User: "alice"})
			require.NoError(t, err)
			v = wait(v.ID, store.StatusPause)
			require.Equal(t, "app:1", v.Stages[0].Outputs["IMAGE"])
			// Live updates tell the console about the run, its stages and jobs as they change.
			for _, want := range []string{"run wait", "run doing", "run pause", "stage doing", "stage ok", "stage pause", "job wait", "job ok"} {
				require.Eventually(t, func() bool { _, ok := seen.Load(want); return ok }, 10*time.Second, 10*time.Millisecond, "no %q event", want)
			}

			// Executed with TARGET only: FLAG keeps its default, the job fails.
			_, err = runs.Execute(ctx, v.ID, v.Stages[1].ID, map[string]string{"TARGET": "prod"}, "bob")
			require.NoError(t, err)
			v = wait(v.ID, store.StatusError)
			require.Equal(t, store.StatusError, v.Stages[1].Jobs[0].Status)
			require.Contains(t, v.Reason, "job deploy failed")

			// Re-executed with the flag: it passes.
			_, err = runs.Reexecute(ctx, v.ID, v.Stages[1].ID, map[string]string{"FLAG": "on"}, "bob")
			require.NoError(t, err)
			v = wait(v.ID, store.StatusOK)
			require.Equal(t, "on", v.Stages[1].CustomParams["FLAG"])
			require.Equal(t, "prod", v.Stages[1].CustomParams["TARGET"], "parameters given before are kept")

			// A job asking for a label no spacelet has waits, and says why.
			gpu := runtest.ShellJob("gpu", "true")
			gpu.Schedule = pipeline.Schedule{Labels: map[string]string{"gpu": "a100"}}
			gp := e.Pipeline(t, ws.ID, pipeline.Definition{Stages: []pipeline.Stage{{Name: "train", Jobs: []pipeline.Job{gpu}}}})
			gv, err := runs.Start(ctx, gp.ID, run.StartRequest{User: "alice"})
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				v, err := runs.Get(ctx, gv.ID)
				require.NoError(t, err)
				return v.Reason == "job gpu waits: no spacelet with labels gpu=a100 is online"
			}, 30*time.Second, 20*time.Millisecond)
			_, err = runs.Cancel(ctx, gv.ID, "alice")
			require.NoError(t, err)
			wait(gv.ID, store.StatusCanceled)
			require.GreaterOrEqual(t, agent.Executed(), int64(4))
		})
	}
}
