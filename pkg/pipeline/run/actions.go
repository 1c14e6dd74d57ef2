package run

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// Stage actions (the last segment of POST /pipeline-runs/{id}/stages/{stage_id}/{action}).
const (
	ActionExecute   = "execute"
	ActionCancel    = "cancel"
	ActionRetry     = "retry"
	ActionReexecute = "reexecute"
)

// Actions lists the stage actions.
var Actions = []string{ActionExecute, ActionCancel, ActionRetry, ActionReexecute}

// actionAttempts bounds how often an action is tried again after losing a race with the
// controller (each loss means the run moved; the action is re-validated against the new state).
const actionAttempts = 8

// act runs mutate on a fresh read of the run inside a transaction, again when a conditional
// write lost a race, and then nudges the controller.
func (s *Service) act(ctx context.Context, runID int64, mutate func(st *step) error) (*RunView, error) {
	for attempt := 0; ; attempt++ {
		var fx *effects
		var d *store.RunDetail
		err := s.d.Store.Tx.WithTx(ctx, func(ctx context.Context) error {
			fx = &effects{assigned: map[int64]bool{}}
			var err error
			if d, err = s.d.Store.PipelineRuns.Detail(ctx, runID); err != nil {
				return err
			}
			return mutate(&step{s: s, ctx: ctx, d: d, now: s.d.Now().UTC(), fx: fx})
		})
		// A lost race, or a transaction the database rolled back (a deadlock with a controller
		// writing the same rows in another order): read again and redo.
		if (errors.Is(err, errStale) || errs.Is(err, errs.Unavailable)) && attempt < actionAttempts {
			continue
		}
		if errors.Is(err, errStale) {
			return nil, errs.Conflictf("run %d keeps changing; try again", runID)
		}
		if err != nil {
			return nil, err
		}
		s.apply(ctx, fx)
		s.nudgeRun(ctx, runID)
		return viewOf(d), nil
	}
}

// stageIndex finds a stage of the run.
func stageIndex(d *store.RunDetail, stageID int64) (int, error) {
	for i := range d.Stages {
		if d.Stages[i].ID == stageID {
			return i, nil
		}
	}
	return 0, errs.NotFoundf("run %d has no stage %d", d.Run.ID, stageID)
}

// StageAction runs one of Actions on a stage of a run; params are the stage's custom
// parameters (execute and reexecute).
func (s *Service) StageAction(ctx context.Context, runID, stageID int64, action string, params map[string]string, user string) (*RunView, error) {
	switch action {
	case ActionExecute:
		return s.Execute(ctx, runID, stageID, params, user)
	case ActionCancel:
		return s.CancelStage(ctx, runID, stageID, user)
	case ActionRetry:
		return s.Retry(ctx, runID, stageID, user)
	case ActionReexecute:
		return s.Reexecute(ctx, runID, stageID, params, user)
	}
	return nil, errs.Invalidf("unknown stage action %q: must be execute, cancel, retry or reexecute", action)
}

// stageParams merges given parameters into a stage's current ones; every name must be one of
// the stage's declared custom parameters.
func stageParams(d *store.RunDetail, i int, given map[string]string) (Env, error) {
	cur := decodeEnv(d.Stages[i].CustomParams)
	if len(given) == 0 {
		return cur, nil
	}
	var def pipeline.Definition
	_ = json.Unmarshal([]byte(d.Run.Definition), &def)
	var declared []string
	if i < len(def.Stages) {
		for _, p := range def.Stages[i].CustomParams {
			declared = append(declared, p.Name)
		}
	}
	for k, v := range given {
		if !slices.Contains(declared, k) {
			if len(declared) == 0 {
				return nil, errs.Field("params", "stage %s takes no parameters (got %q)", d.Stages[i].Name, k)
			}
			return nil, errs.Field("params", "stage %s has no parameter %q (it has %v)", d.Stages[i].Name, k, declared)
		}
		if len(v) > maxParamBytes {
			return nil, errs.Field("params", "%q is longer than %d bytes", k, maxParamBytes)
		}
		cur[k] = v
	}
	if n := len(encode(cur)); n > maxParamsBytes {
		return nil, errs.Field("params", "take %d bytes; at most %d are allowed", n, maxParamsBytes)
	}
	return cur, nil
}

// Execute starts a paused manual stage with its parameters.
func (s *Service) Execute(ctx context.Context, runID, stageID int64, params map[string]string, user string) (*RunView, error) {
	return s.act(ctx, runID, func(st *step) error {
		i, err := stageIndex(st.d, stageID)
		if err != nil {
			return err
		}
		sr := &st.d.Stages[i]
		if sr.Status != store.StatusPause {
			return errs.Conflictf("stage %s is %s: only a paused stage can be executed", sr.Name, sr.Status)
		}
		if r := &st.d.Run; r.Status != store.StatusPause {
			return errs.Conflictf("run #%d is %s: it no longer waits for stage %s", r.BuildNumber, r.Status, sr.Name)
		}
		p, err := stageParams(st.d, i, params)
		if err != nil {
			return err
		}
		sr.Status, sr.ExecutedBy, sr.CustomParams = store.StatusWait, truncate(user, 64), encode(p)
		if err := st.saveStage(sr, "Status", "ExecutedBy", "CustomParams"); err != nil {
			return err
		}
		r := &st.d.Run
		r.Status, r.Reason = store.StatusDoing, ""
		return st.saveRun("Status", "Reason")
	})
}

// Cancel asks a run to stop: jobs not started are canceled, running ones are told to stop.
func (s *Service) Cancel(ctx context.Context, runID int64, user string) (*RunView, error) {
	return s.act(ctx, runID, func(st *step) error { return st.requestCancel(user) })
}

// CancelStage cancels a run from one of its open stages (stages run one at a time, so this
// stops the run; the stage can be retried or re-executed afterwards).
func (s *Service) CancelStage(ctx context.Context, runID, stageID int64, user string) (*RunView, error) {
	return s.act(ctx, runID, func(st *step) error {
		i, err := stageIndex(st.d, stageID)
		if err != nil {
			return err
		}
		if sr := &st.d.Stages[i]; store.Terminal(sr.Status) {
			return errs.Conflictf("stage %s is already %s", sr.Name, sr.Status)
		}
		return st.requestCancel(user)
	})
}

func (st *step) requestCancel(user string) error {
	r := &st.d.Run
	switch {
	case r.Status == store.StatusCancel:
		return nil
	case store.Terminal(r.Status):
		return errs.Conflictf("run #%d is already %s", r.BuildNumber, r.Status)
	}
	r.Status, r.Reason = store.StatusCancel, truncate("canceled by "+user, 1024)
	if err := st.saveRun("Status", "Reason"); err != nil {
		return err
	}
	// Carried out at once rather than on the controller's next look: running jobs are told to
	// stop now, and a run with nothing running is canceled in this same step.
	return st.cancel()
}

// Retry runs a failed or canceled stage's unsuccessful jobs again (successful ones keep their
// result) and continues the run from there.
func (s *Service) Retry(ctx context.Context, runID, stageID int64, _ string) (*RunView, error) {
	return s.act(ctx, runID, func(st *step) error {
		i, err := stageIndex(st.d, stageID)
		if err != nil {
			return err
		}
		r, sr := &st.d.Run, &st.d.Stages[i]
		if !store.Terminal(r.Status) {
			return errs.Conflictf("run #%d is %s: retry a stage once the run has ended (cancel it first)", r.BuildNumber, r.Status)
		}
		if sr.Status != store.StatusError && sr.Status != store.StatusCanceled {
			return errs.Conflictf("stage %s is %s: only a failed or canceled stage can be retried", sr.Name, sr.Status)
		}
		if err := earlierSucceeded(st.d, i); err != nil {
			return err
		}
		for k := range st.d.Jobs[i] {
			j := &st.d.Jobs[i][k]
			if j.Status == store.StatusOK {
				continue
			}
			resetJob(j)
			j.Attempt = 0
			if err := st.saveJob(j, jobResetFields...); err != nil {
				return err
			}
		}
		sr.Status, sr.FinishedAt = store.StatusDoing, nil
		if sr.StartedAt == nil {
			sr.Status = store.StatusWait // canceled before it opened: open it normally
		}
		if err := st.saveStage(sr, "Status", "FinishedAt"); err != nil {
			return err
		}
		if err := st.resetFrom(i+1, ""); err != nil {
			return err
		}
		return st.reopenRun("")
	})
}

// Reexecute runs a finished stage and every stage after it again, from scratch.
func (s *Service) Reexecute(ctx context.Context, runID, stageID int64, params map[string]string, user string) (*RunView, error) {
	return s.act(ctx, runID, func(st *step) error {
		i, err := stageIndex(st.d, stageID)
		if err != nil {
			return err
		}
		r, sr := &st.d.Run, &st.d.Stages[i]
		if !store.Terminal(r.Status) {
			return errs.Conflictf("run #%d is %s: re-execute a stage once the run has ended (cancel it first)", r.BuildNumber, r.Status)
		}
		if !store.Terminal(sr.Status) {
			return errs.Conflictf("stage %s never ran (%s): only a finished stage can be re-executed", sr.Name, sr.Status)
		}
		if err := earlierSucceeded(st.d, i); err != nil {
			return err
		}
		p, err := stageParams(st.d, i, params)
		if err != nil {
			return err
		}
		sr.CustomParams = encode(p)
		if err := st.resetFrom(i, truncate(user, 64)); err != nil {
			return err
		}
		return st.reopenRun("")
	})
}

// resetFrom makes stages from index i on wait again with fresh jobs; the first one counts as
// executed by executedBy (a manual stage someone re-executes does not pause again).
func (st *step) resetFrom(i int, executedBy string) error {
	for k := i; k < len(st.d.Stages); k++ {
		sr := &st.d.Stages[k]
		by := ""
		if k == i {
			by = executedBy
		}
		if sr.Status == store.StatusWait && sr.ExecutedBy == by && sr.StartedAt == nil {
			continue
		}
		sr.Status, sr.ExecutedBy, sr.Env, sr.Outputs, sr.StartedAt, sr.FinishedAt = store.StatusWait, by, "{}", "{}", nil, nil
		if err := st.saveStage(sr, "Status", "ExecutedBy", "Env", "Outputs", "StartedAt", "FinishedAt", "CustomParams"); err != nil {
			return err
		}
		for n := range st.d.Jobs[k] {
			j := &st.d.Jobs[k][n]
			resetJob(j)
			j.Attempt, j.Env = 0, "{}"
			if err := st.saveJob(j, jobResetFields...); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *step) reopenRun(reason string) error {
	r := &st.d.Run
	r.Status, r.Reason, r.FinishedAt = store.StatusDoing, reason, nil
	return st.saveRun("Status", "Reason", "FinishedAt")
}

// earlierSucceeded refuses to run stage i again while a stage before it has not succeeded: the
// run would stop at that one at once.
func earlierSucceeded(d *store.RunDetail, i int) error {
	for k := 0; k < i; k++ {
		if st := d.Stages[k]; st.Status != store.StatusOK {
			return errs.Conflictf("stage %s, before %s, is %s: run it again first", st.Name, d.Stages[i].Name, st.Status)
		}
	}
	return nil
}
