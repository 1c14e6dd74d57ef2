package run_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

func oneJob(job pipeline.Job) pipeline.Definition {
	return pipeline.Definition{Stages: []pipeline.Stage{{Name: "only", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{job}}}}
}

func (f *fixture) start(t *testing.T, def pipeline.Definition) *run.RunView {
	t.Helper()
	ws := f.Workspace(t, store.WorkspaceCustom)
	p := f.Pipeline(t, ws.ID, def)
	v, err := f.svc.Start(context.Background(), p.ID, run.StartRequest{User: "alice"})
	require.NoError(t, err)
	return f.sync(t, v.ID)
}

// TestFailureThenRetry: a failed job fails its stage and the run; retrying the stage runs only
// the failed job again and finishes the run.
func TestFailureThenRetry(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sl := f.Spacelet(t, "h", nil, 2)
		def := pipeline.Definition{Stages: []pipeline.Stage{
			{Name: "test", Jobs: []pipeline.Job{runtest.ShellJob("unit", "true"), runtest.ShellJob("flaky", "false")}},
			{Name: "after", Jobs: []pipeline.Job{runtest.ShellJob("next", "true")}},
		}}
		v := f.start(t, def)
		unit, flaky := f.Claim(t, sl.ID), f.Claim(t, sl.ID)
		f.Finish(t, unit, store.StatusOK, map[string]string{"A": "1"})
		f.Finish(t, flaky, store.StatusError, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusError, v.Status)
		require.Equal(t, store.StatusError, v.Stages[0].Status)
		require.Equal(t, store.StatusWait, v.Stages[1].Status)
		require.Contains(t, v.Reason, "job flaky failed")

		_, err := f.svc.Retry(ctx, v.ID, v.Stages[1].ID, "bob")
		require.True(t, errs.Is(err, errs.Conflict), "a stage that never ran cannot be retried: %v", err)
		_, err = f.svc.Retry(ctx, v.ID, v.Stages[0].ID, "bob")
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Status)
		require.Equal(t, store.StatusOK, v.Stages[0].Jobs[0].Status, "the successful job keeps its result")
		require.Equal(t, store.StatusWait, v.Stages[0].Jobs[1].Status)
		j := f.Claim(t, sl.ID)
		require.Equal(t, flaky.ID, j.ID)
		f.Finish(t, j, store.StatusOK, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Stages[1].Status)
		require.Equal(t, "1", v.Stages[0].Outputs["A"])
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusOK, v.Status)
	})
}

// TestJobRetries: a job with retries left is queued again after failing.
func TestJobRetries(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		sl := f.Spacelet(t, "h", nil, 1)
		job := runtest.ShellJob("flaky", "false")
		job.Retries = 1
		v := f.start(t, oneJob(job))
		f.Finish(t, f.Claim(t, sl.ID), store.StatusError, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Status)
		jv := v.Stages[0].Jobs[0]
		require.Equal(t, 1, jv.Attempt)
		require.Contains(t, jv.Message, "attempt 1 failed")
		require.NotZero(t, jv.SpaceletID, "placed again at once")
		f.Finish(t, f.Claim(t, sl.ID), store.StatusError, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusError, v.Status, "no retries left")
	})
}

// TestLeaseExpiry: a job whose spacelet stopped renewing its lease fails with a clear message;
// a job assigned to a spacelet that went offline before starting it is placed elsewhere.
func TestLeaseExpiry(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := f.Spacelet(t, "a", nil, 1)
		v := f.start(t, oneJob(runtest.ShellJob("long", "sleep 100")))
		require.Equal(t, a.ID, v.Stages[0].Jobs[0].SpaceletID)
		_, err := f.Store.JobDispatch.Claim(ctx, a.ID, time.Now().Add(time.Second))
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Stages[0].Jobs[0].Status, "lease still valid")
		f.clock.add(5 * time.Second)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusError, v.Status)
		require.Contains(t, v.Stages[0].Jobs[0].Message, "stopped renewing the job's lease")

		// Never started: requeued on another spacelet.
		v2 := f.start(t, oneJob(runtest.ShellJob("j", "true")))
		first := v2.Stages[0].Jobs[0].SpaceletID
		require.NotZero(t, first)
		b := f.Spacelet(t, "b", nil, 1)
		_, err = f.Store.Spacelets.MarkOffline(ctx, time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.NoError(t, f.Store.Spacelets.Seen(ctx, b.ID, time.Now()))
		if first == b.ID {
			t.Fatalf("the job was placed before spacelet b existed")
		}
		v2 = f.sync(t, v2.ID)
		require.Equal(t, b.ID, v2.Stages[0].Jobs[0].SpaceletID, "taken back from the offline spacelet")
		require.Equal(t, store.StatusWait, v2.Stages[0].Jobs[0].Status)
	})
}

// TestCancel: cancelling a run stops a running job through its spacelet and cancels the rest.
func TestCancel(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sl := f.Spacelet(t, "h", nil, 1)
		def := pipeline.Definition{Stages: []pipeline.Stage{
			{Name: "s1", Jobs: []pipeline.Job{runtest.ShellJob("long", "sleep 100")}},
			{Name: "s2", Jobs: []pipeline.Job{runtest.ShellJob("later", "true")}},
		}}
		v := f.start(t, def)
		j := f.Claim(t, sl.ID)
		_, err := f.svc.Cancel(ctx, v.ID, "bob")
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusCancel, v.Status)
		require.Equal(t, store.StatusCancel, v.Stages[0].Jobs[0].Status)
		status, err := f.Store.JobDispatch.Extend(ctx, j.ID, sl.ID, time.Now().Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, store.StatusCancel, status, "the spacelet learns of the cancel")
		f.Finish(t, j, store.StatusCanceled, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusCanceled, v.Status)
		require.Equal(t, store.StatusCanceled, v.Stages[0].Status)
		require.Equal(t, store.StatusCanceled, v.Stages[1].Status)
		require.Equal(t, store.StatusCanceled, v.Stages[1].Jobs[0].Status)
		_, err = f.svc.Cancel(ctx, v.ID, "bob")
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)

		// Cancel-and-re-execute: the canceled stage runs again from scratch.
		_, err = f.svc.Reexecute(ctx, v.ID, v.Stages[0].ID, nil, "bob")
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Status)
		require.Equal(t, store.StatusWait, v.Stages[1].Status)
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, nil)
		f.sync(t, v.ID)
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusOK, v.Status)

		// A paused run cancels at once (nothing runs).
		pv := f.start(t, pipeline.Definition{Stages: []pipeline.Stage{{Name: "m", TriggerMode: pipeline.StageManual,
			Jobs: []pipeline.Job{runtest.ShellJob("x", "true")}}}})
		require.Equal(t, store.StatusPause, pv.Status)
		_, err = f.svc.CancelStage(ctx, pv.ID, pv.Stages[0].ID, "bob")
		require.NoError(t, err)
		pv = f.sync(t, pv.ID)
		require.Equal(t, store.StatusCanceled, pv.Status)
		require.Equal(t, "canceled by bob", pv.Reason)
	})
}

// TestReexecute: re-executing the first stage of a finished run resets it and every later
// stage; a manual stage re-executed runs without pausing, with the new parameters.
func TestReexecute(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sl := f.Spacelet(t, "h", nil, 4)
		v := f.start(t, pipeline.Definition{Stages: []pipeline.Stage{
			{Name: "a", Jobs: []pipeline.Job{runtest.ShellJob("x", "true")}},
			{Name: "b", TriggerMode: pipeline.StageManual, CustomParams: []pipeline.Param{{Name: "P", Default: "d"}},
				Jobs: []pipeline.Job{runtest.ShellJob("y", "true")}},
		}})
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, map[string]string{"OUT": "1"})
		v = f.sync(t, v.ID)
		_, err := f.svc.Reexecute(ctx, v.ID, v.Stages[0].ID, nil, "bob")
		require.True(t, errs.Is(err, errs.Conflict), "the run is paused, not finished: %v", err)
		_, err = f.svc.Execute(ctx, v.ID, v.Stages[1].ID, nil, "bob")
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, "d", v.Stages[1].CustomParams["P"], "defaults apply")
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, nil)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusOK, v.Status)

		_, err = f.svc.Reexecute(ctx, v.ID, v.Stages[1].ID, map[string]string{"P": "again"}, "carol")
		require.NoError(t, err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusDoing, v.Status, "a manual stage re-executed does not pause")
		require.Equal(t, store.StatusOK, v.Stages[0].Status, "earlier stages keep their result")
		require.Equal(t, "carol", v.Stages[1].ExecutedBy)
		j := f.Claim(t, sl.ID)
		env := run.Env{}
		require.NoError(t, jsonInto(j.Env, &env))
		require.Equal(t, "again", env["P"])
		require.Equal(t, "1", env["OUT"])
		f.Finish(t, j, store.StatusOK, nil)
		require.Equal(t, store.StatusOK, f.sync(t, v.ID).Status)

		_, err = f.svc.StageAction(ctx, v.ID, v.Stages[0].ID, "explode", nil, "x")
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		_, err = f.svc.StageAction(ctx, v.ID, 999999, run.ActionRetry, nil, "x")
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	})
}

// TestScheduling: a job asking for labels nobody has waits and the run says why; a matching
// spacelet takes it; draining spacelets and hostname pins are honoured.
func TestScheduling(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		job := runtest.ShellJob("linux", "uname")
		job.Schedule = pipeline.Schedule{Labels: map[string]string{"os": "linux"}}
		f.Spacelet(t, "mac", map[string]string{"os": "darwin"}, 1)
		v := f.start(t, oneJob(job))
		require.Equal(t, store.StatusDoing, v.Status)
		require.Zero(t, v.Stages[0].Jobs[0].SpaceletID)
		require.Equal(t, "job linux waits: no spacelet with labels os=linux is online", v.Reason)
		require.Equal(t, "no spacelet with labels os=linux is online", v.Stages[0].Jobs[0].Reason)

		drain := f.Spacelet(t, "drain", map[string]string{"os": "linux"}, 1)
		drain.Draining = true
		require.NoError(t, f.Store.Spacelets.Update(ctx, drain))
		v = f.sync(t, v.ID)
		require.Zero(t, v.Stages[0].Jobs[0].SpaceletID, "draining spacelets get nothing new")
		require.Contains(t, v.Reason, "is online and not draining")

		linux := f.Spacelet(t, "linux", map[string]string{"os": "linux", "arch": "amd64"}, 1)
		v = f.sync(t, v.ID)
		require.Equal(t, linux.ID, v.Stages[0].Jobs[0].SpaceletID)
		require.Empty(t, v.Reason)

		pinned := runtest.ShellJob("pinned", "true")
		pinned.Schedule = pipeline.Schedule{Hostname: "mac"}
		v2 := f.start(t, oneJob(pinned))
		sl, err := f.Store.Spacelets.Get(ctx, v2.Stages[0].Jobs[0].SpaceletID)
		require.NoError(t, err)
		require.Equal(t, "mac", sl.Hostname)
	})
}

// TestPlace covers the placement decision as a table.
func TestPlace(t *testing.T) {
	c := func(id int64, host string, labels map[string]string, load int64, capacity int) run.Candidate {
		return run.Candidate{ID: id, Name: host, Hostname: host, Labels: labels, Online: true, Load: load, Capacity: capacity}
	}
	linux := map[string]string{"os": "linux"}
	tests := []struct {
		name   string
		sched  pipeline.Schedule
		cands  []run.Candidate
		want   int64
		reason string
	}{
		{"least loaded", pipeline.Schedule{}, []run.Candidate{c(1, "a", nil, 2, 2), c(2, "b", nil, 1, 2)}, 2, ""},
		{"load per capacity", pipeline.Schedule{}, []run.Candidate{c(1, "a", nil, 2, 8), c(2, "b", nil, 1, 1)}, 1, ""},
		{"labels", pipeline.Schedule{Labels: linux}, []run.Candidate{c(1, "a", nil, 0, 1), c(2, "b", linux, 5, 1)}, 2, ""},
		{"hostname", pipeline.Schedule{Hostname: "a"}, []run.Candidate{c(1, "a", nil, 9, 1), c(2, "b", nil, 0, 1)}, 1, ""},
		{"none online", pipeline.Schedule{}, []run.Candidate{{ID: 1, Capacity: 1}}, 0, "no spacelet is online"},
		{"no hostname", pipeline.Schedule{Hostname: "z"}, []run.Candidate{c(1, "a", nil, 0, 1)}, 0, "no spacelet with hostname z is online"},
		{"labels sorted", pipeline.Schedule{Labels: map[string]string{"os": "linux", "gpu": "1"}}, nil, 0, "no spacelet with labels gpu=1,os=linux is online"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, reason := run.Place(tt.sched, tt.cands)
			require.Equal(t, tt.want, id)
			require.Equal(t, tt.reason, reason)
		})
	}
}

// TestStartInput: bad start requests are 4xx with precise messages; custom pipelines inherit
// the variables of their sources' runs.
func TestStartInput(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		code := f.Workspace(t, store.WorkspaceCode)
		def := twoStages()
		def.Sources = []pipeline.Source{{Type: pipeline.SourceCode, Branches: []pipeline.BranchRule{{Type: pipeline.BranchRegex, Pattern: "release/.*"}}}}
		cp := f.Pipeline(t, code.ID, def)
		for _, tt := range []struct {
			req  run.StartRequest
			kind errs.Kind
			msg  string
		}{
			{run.StartRequest{}, errs.Invalid, "branch is required"},
			{run.StartRequest{Branch: "main"}, errs.Invalid, "does not match the branch rules"},
			{run.StartRequest{Branch: "release/1", Commit: "xyz!"}, errs.Invalid, "is not a commit id"},
			{run.StartRequest{Branch: "release/1", Params: map[string]string{"PIPELINE_BUILD_NUMBER": "7"}}, errs.Invalid, "set by the run itself"},
			{run.StartRequest{Branch: "release/1", Params: map[string]string{"1BAD": "7"}}, errs.Invalid, "is not a variable name"},
			{run.StartRequest{Branch: "release/1", Sources: []run.SourceRef{{PipelineID: 1}}}, errs.Invalid, "only for pipelines of custom workspaces"},
		} {
			_, err := f.svc.Start(ctx, cp.ID, tt.req)
			require.True(t, errs.Is(err, tt.kind), "%+v: %v", tt.req, err)
			require.Contains(t, err.Error(), tt.msg)
		}
		_, err := f.svc.Start(ctx, 987654, run.StartRequest{})
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		v, err := f.svc.Start(ctx, cp.ID, run.StartRequest{Branch: "release/1", Commit: "abcdef12"})
		require.NoError(t, err)
		require.Equal(t, "abcdef12", v.Env["PIPELINE_CODE_COMMIT_ID"])
		require.Equal(t, []run.SourceRecord{{Type: "code", Branch: "release/1", CommitID: "abcdef12"}}, v.Sources)

		// Custom workspace: source pipelines.
		sl := f.Spacelet(t, "h", nil, 4)
		custom := f.Workspace(t, store.WorkspaceCustom)
		src := f.Pipeline(t, custom.ID, oneJob(runtest.ShellJob("build", "true")))
		consumer := f.Pipeline(t, custom.ID, pipeline.Definition{Sources: []pipeline.Source{{Type: pipeline.SourcePipeline, PipelineID: src.ID}},
			Stages: oneJob(runtest.ShellJob("use", "true")).Stages})
		_, err = f.svc.Start(ctx, consumer.ID, run.StartRequest{})
		require.True(t, errs.Is(err, errs.Unprocessable), "no successful source run yet: %v", err)
		sv, err := f.svc.Start(ctx, src.ID, run.StartRequest{})
		require.NoError(t, err)
		f.sync(t, sv.ID)
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, map[string]string{"IMAGE": "app:7"})
		require.Equal(t, store.StatusOK, f.sync(t, sv.ID).Status)
		_, err = f.svc.Start(ctx, consumer.ID, run.StartRequest{Sources: []run.SourceRef{{PipelineID: cp.ID}}})
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		_, err = f.svc.Start(ctx, consumer.ID, run.StartRequest{Branch: "main"})
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		cv, err := f.svc.Start(ctx, consumer.ID, run.StartRequest{Sources: []run.SourceRef{{PipelineID: src.ID, RunID: sv.ID}}})
		require.NoError(t, err)
		require.Equal(t, "app:7", cv.Env["IMAGE"], "variables of the source run are inherited")
		require.Equal(t, cv.Env["PIPELINE_PIPELINE_ID"], itoa(consumer.ID), "identity variables are the run's own")
		require.Equal(t, itoa(sv.ID), cv.Env["PIPELINE_BUILD_ID"])
		require.Equal(t, sv.ID, cv.Sources[0].RunID)

		// A custom pipeline without sources is a plain pipeline.
		plain := f.Pipeline(t, custom.ID, oneJob(runtest.ShellJob("x", "true")))
		pv, err := f.svc.Start(ctx, plain.ID, run.StartRequest{Trigger: store.TriggerCron, User: "cron"})
		require.NoError(t, err)
		require.Equal(t, store.TriggerCron, pv.Trigger)
		require.Equal(t, []run.SourceRecord{}, pv.Sources)
	})
}

// TestLongMessages: a failure message at the column's limit (multi-byte characters included)
// still fails the run cleanly on both engines.
func TestLongMessages(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		sl := f.Spacelet(t, "h", nil, 1)
		v := f.start(t, oneJob(runtest.ShellJob("loud", "false")))
		j := f.Claim(t, sl.ID)
		ok, err := f.Store.JobDispatch.Finish(context.Background(), j.ID, sl.ID, store.JobResult{Status: store.StatusError,
			Message: strings.Repeat("é", 600), Outputs: "{}", At: time.Now()})
		require.NoError(t, err)
		require.True(t, ok)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusError, v.Status)
		require.True(t, utf8.ValidString(v.Reason))
		require.LessOrEqual(t, len(v.Reason), 1024)
		require.True(t, strings.HasPrefix(v.Reason, "job loud failed: é"))
	})
}

// TestOversizeOutputs: outputs too large to carry forward fail the stage with a message rather
// than wedging the run on a column too small.
func TestOversizeOutputs(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		sl := f.Spacelet(t, "h", nil, 2)
		v := f.start(t, pipeline.Definition{Stages: []pipeline.Stage{
			{Name: "big", Jobs: []pipeline.Job{runtest.ShellJob("a", "true"), runtest.ShellJob("b", "true")}},
			{Name: "after", Jobs: []pipeline.Job{runtest.ShellJob("c", "true")}},
		}})
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, map[string]string{"A": strings.Repeat("a", 35000)})
		f.Finish(t, f.Claim(t, sl.ID), store.StatusOK, map[string]string{"B": strings.Repeat("b", 35000)})
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusError, v.Status)
		require.Contains(t, v.Reason, "the outputs of stage big take")
	})
}

// TestActionOrder: a stage cannot be run again while one before it has not succeeded, and a
// paused stage cannot be executed once its run is being canceled.
func TestActionOrder(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		v := f.start(t, pipeline.Definition{Stages: []pipeline.Stage{
			{Name: "gate", TriggerMode: pipeline.StageManual, Jobs: []pipeline.Job{runtest.ShellJob("x", "true")}},
			{Name: "after", Jobs: []pipeline.Job{runtest.ShellJob("y", "true")}},
		}})
		require.Equal(t, store.StatusPause, v.Status)
		_, err := f.svc.Cancel(ctx, v.ID, "bob")
		require.NoError(t, err)
		_, err = f.svc.Execute(ctx, v.ID, v.Stages[0].ID, nil, "carol")
		require.True(t, errs.Is(err, errs.Conflict), "the cancel stands: %v", err)
		v = f.sync(t, v.ID)
		require.Equal(t, store.StatusCanceled, v.Status)
		for _, action := range []string{run.ActionRetry, run.ActionReexecute} {
			_, err = f.svc.StageAction(ctx, v.ID, v.Stages[1].ID, action, nil, "bob")
			require.True(t, errs.Is(err, errs.Conflict), "%s: %v", action, err)
			require.Contains(t, err.Error(), "stage gate, before after, is canceled")
		}
		_, err = f.svc.Retry(ctx, v.ID, v.Stages[0].ID, "bob")
		require.NoError(t, err)
		require.Equal(t, store.StatusPause, f.sync(t, v.ID).Status, "the manual stage asks again")
	})
}

// TestPlacementCache: with a placement cache, spacelets and loads read for one placement serve
// the next ones within its lifetime (loads raised locally), and are read again after it.
func TestPlacementCache(t *testing.T) {
	e := runtest.Open(t, "sqlite")
	c := &clock{t: time.Now()}
	svc := run.New(run.Deps{Store: e.Store, Bus: e.Bus, Now: c.now, PlacementCache: time.Second})
	f := &fixture{Env: e, clock: c, svc: svc}
	a := f.Spacelet(t, "a", nil, 1)
	v1 := f.start(t, oneJob(runtest.ShellJob("x", "true")))
	require.Equal(t, a.ID, v1.Stages[0].Jobs[0].SpaceletID)
	b := f.Spacelet(t, "b", nil, 1)
	v2 := f.start(t, oneJob(runtest.ShellJob("y", "true")))
	require.Equal(t, a.ID, v2.Stages[0].Jobs[0].SpaceletID, "b is not known yet: the cached list serves")
	c.add(2 * time.Second)
	v3 := f.start(t, oneJob(runtest.ShellJob("z", "true")))
	require.Equal(t, b.ID, v3.Stages[0].Jobs[0].SpaceletID, "read again: b is the least loaded")
}
