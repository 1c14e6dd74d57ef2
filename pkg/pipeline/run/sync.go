package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
)

// errStale means a row changed between our read and our conditional write (another controller,
// a spacelet's report, a user's action): the whole step is rolled back and done again.
var errStale = errors.New("run changed meanwhile")

// WaitRetry is how often a job that no spacelet can take is looked at again (a spacelet coming
// online also nudges nothing, so this bounds how long the job waits after one appears).
const WaitRetry = 2 * time.Second

// SyncResult says what the controller should do next with a run.
type SyncResult struct {
	// Retry: a conditional write lost a race; look again soon.
	Retry bool
	// After > 0: look again after this long (a job waits for a spacelet, a lease to watch).
	After time.Duration
	// Status is the run's status after the step. Finished lists the jobs whose stage ended in
	// the step, and failed attempts put back in the queue: each attempt exactly once across
	// controllers, since the step that reports it won a conditional write (duration metrics).
	Status   string
	Finished []store.JobRun
}

// effects are what a step does outside the database, after its transaction committed.
type effects struct {
	assigned map[int64]bool // spacelets with new jobs
	cancels  []int64        // jobs asked to stop
	events   []events.Event
	finished []store.JobRun
	// ended is the run when it reached a final status: it is nudged again, so chaining
	// triggers see it at once rather than at their resync.
	ended int64
}

// step is one reconcile of one run, inside one transaction.
type step struct {
	s   *Service
	ctx context.Context
	d   *store.RunDetail
	now time.Time
	fx  *effects
	// cands are the spacelets, loaded on first use; loaded says their loads are counted.
	cands  []Candidate
	loaded bool
	after  time.Duration
}

// Sync moves a run forward from what the database holds: it starts the run, opens stages in
// order (pausing at manual ones), places waiting jobs on spacelets, fails or requeues jobs whose
// lease expired, retries failed jobs that have retries left, finishes stages and the run, and
// carries out cancellation. It is idempotent and safe to run concurrently for the same run in
// several processes: every write is conditional, and the loser of a race reports Retry.
func (s *Service) Sync(ctx context.Context, runID int64) (SyncResult, error) {
	var fx *effects
	var res SyncResult
	err := s.d.Store.Tx.WithTx(ctx, func(ctx context.Context) error {
		fx = &effects{assigned: map[int64]bool{}}
		d, err := s.d.Store.PipelineRuns.Detail(ctx, runID)
		if err != nil {
			return err
		}
		st := &step{s: s, ctx: ctx, d: d, now: s.d.Now().UTC(), fx: fx}
		if err := st.reconcile(); err != nil {
			return err
		}
		res = SyncResult{After: st.after, Status: d.Run.Status}
		return nil
	})
	if errors.Is(err, errStale) {
		return SyncResult{Retry: true}, nil
	}
	if err != nil {
		return SyncResult{}, err
	}
	res.Finished = fx.finished
	s.apply(ctx, fx)
	return res, nil
}

func (s *Service) apply(ctx context.Context, fx *effects) {
	for id := range fx.assigned {
		if s.d.Bus != nil {
			_ = nudge.Publish(ctx, s.d.Bus, nudge.TopicAssigned, id)
		}
	}
	for _, id := range fx.cancels {
		if s.d.Bus != nil {
			_ = nudge.Publish(ctx, s.d.Bus, nudge.TopicCancel, id)
		}
	}
	for _, ev := range fx.events {
		s.publish(ctx, ev)
	}
	if fx.ended != 0 {
		s.nudgeRun(ctx, fx.ended)
	}
}

// saved turns a conditional write's outcome into errStale when it lost.
func saved(ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return errStale
	}
	return nil
}

func (st *step) saveRun(fields ...string) error {
	r := &st.d.Run
	r.Reason = truncate(r.Reason, 1024)
	if err := saved(st.s.d.Store.PipelineRuns.SaveRun(st.ctx, r, fields...)); err != nil {
		return err
	}
	st.fx.events = append(st.fx.events, events.Event{Kind: events.KindRun, ObjectID: r.ID, RunID: r.ID, PipelineID: r.PipelineID, WorkspaceID: r.WorkspaceID, Status: r.Status})
	return nil
}

func (st *step) saveStage(sr *store.StageRun, fields ...string) error {
	if err := saved(st.s.d.Store.PipelineRuns.SaveStage(st.ctx, sr, fields...)); err != nil {
		return err
	}
	r := &st.d.Run
	st.fx.events = append(st.fx.events, events.Event{Kind: events.KindStage, ObjectID: sr.ID, RunID: r.ID, PipelineID: r.PipelineID, WorkspaceID: r.WorkspaceID, Status: sr.Status})
	return nil
}

func (st *step) saveJob(j *store.JobRun, fields ...string) error {
	j.Message, j.Reason = truncate(j.Message, 1024), truncate(j.Reason, 1024)
	if err := saved(st.s.d.Store.PipelineRuns.SaveJob(st.ctx, j, fields...)); err != nil {
		return err
	}
	r := &st.d.Run
	st.fx.events = append(st.fx.events, events.Event{Kind: events.KindJob, ObjectID: j.ID, RunID: r.ID, PipelineID: r.PipelineID, WorkspaceID: r.WorkspaceID, Status: j.Status})
	return nil
}

// wake asks to be looked at again within d.
func (st *step) wake(d time.Duration) {
	if d < 50*time.Millisecond {
		d = 50 * time.Millisecond
	}
	if st.after == 0 || d < st.after {
		st.after = d
	}
}

func (st *step) reconcile() error {
	r := &st.d.Run
	switch r.Status {
	case store.StatusOK, store.StatusError, store.StatusCanceled:
		return nil
	case store.StatusCancel:
		return st.cancel()
	case store.StatusWait:
		r.Status, r.StartedAt = store.StatusDoing, &st.now
		if err := st.saveRun("Status", "StartedAt"); err != nil {
			return err
		}
	}
	for i := range st.d.Stages {
		sr := &st.d.Stages[i]
		switch sr.Status {
		case store.StatusOK:
			continue
		case store.StatusError, store.StatusCanceled:
			return st.finishRun(sr.Status, r.Reason)
		case store.StatusCancel:
			r.Status = store.StatusCancel
			if err := st.saveRun("Status"); err != nil {
				return err
			}
			return st.cancel()
		case store.StatusPause:
			return st.pauseRun(sr)
		case store.StatusWait:
			if sr.TriggerMode == store.StageManual && sr.ExecutedBy == "" {
				sr.Status = store.StatusPause
				if err := st.saveStage(sr, "Status"); err != nil {
					return err
				}
				return st.pauseRun(sr)
			}
			if err := st.openStage(i); err != nil {
				return err
			}
			if sr.Status == store.StatusError {
				return st.finishRun(store.StatusError, r.Reason)
			}
		}
		done, err := st.driveStage(i)
		if err != nil || !done {
			return err
		}
		if sr.Status != store.StatusOK {
			return st.finishRun(sr.Status, r.Reason)
		}
	}
	return st.finishRun(store.StatusOK, "")
}

func (st *step) pauseRun(sr *store.StageRun) error {
	r := &st.d.Run
	reason := fmt.Sprintf("stage %s waits to be executed", sr.Name)
	if r.Status == store.StatusPause && r.Reason == reason {
		return nil
	}
	r.Status, r.Reason = store.StatusPause, reason
	return st.saveRun("Status", "Reason")
}

func (st *step) finishRun(status, reason string) error {
	r := &st.d.Run
	r.Status, r.Reason, r.FinishedAt = status, reason, &st.now
	st.fx.ended = r.ID
	return st.saveRun("Status", "Reason", "FinishedAt")
}

// openStage starts stage i: its environment is the run's, the parameters and outputs of the
// stages before it and its own parameters.
func (st *step) openStage(i int) error {
	// Variables flow forward: each earlier stage's parameters, then its jobs' outputs.
	var outs []map[string]string
	for k := 0; k < i; k++ {
		outs = append(outs, decodeEnv(st.d.Stages[k].CustomParams), decodeEnv(st.d.Stages[k].Outputs))
	}
	sr := &st.d.Stages[i]
	env := encode(pipeline.StageEnv(decodeEnv(st.d.Run.Env), outs, decodeEnv(sr.CustomParams)))
	if len(env) > maxEnvBytes {
		sr.Status, sr.StartedAt, sr.FinishedAt = store.StatusError, &st.now, &st.now
		if err := st.saveStage(sr, "Status", "StartedAt", "FinishedAt"); err != nil {
			return err
		}
		st.d.Run.Reason = fmt.Sprintf("the variables of stage %s take %d bytes, over the limit of %d: earlier outputs or parameters are too large",
			sr.Name, len(env), maxEnvBytes)
		return nil
	}
	sr.Env = env
	sr.Status, sr.StartedAt, sr.FinishedAt = store.StatusDoing, &st.now, nil
	return st.saveStage(sr, "Env", "Status", "StartedAt", "FinishedAt")
}

// spacelets loads the spacelets, once per step.
func (st *step) spacelets() ([]Candidate, error) {
	if st.cands != nil {
		return st.cands, nil
	}
	if cands, ok := st.s.placement.get(st.now); ok {
		st.cands, st.loaded = cands, true
		return cands, nil
	}
	all, err := st.s.d.Store.Spacelets.All(st.ctx)
	if err != nil {
		return nil, err
	}
	st.cands = make([]Candidate, 0, len(all))
	for i := range all {
		st.cands = append(st.cands, CandidateOf(&all[i]))
	}
	return st.cands, nil
}

// candidates are the spacelets with the loads of those that take work (counted once per step,
// and only when a job is to be placed).
func (st *step) candidates() ([]Candidate, error) {
	cands, err := st.spacelets()
	if err != nil || st.loaded {
		return cands, err
	}
	for i := range cands {
		if cands[i].Usable() {
			if cands[i].Load, err = st.s.d.Store.JobDispatch.Running(st.ctx, cands[i].ID); err != nil {
				return nil, err
			}
		}
	}
	st.loaded = true
	st.s.placement.put(st.now, cands)
	return cands, nil
}

func (st *step) candidate(id int64) (Candidate, bool, error) {
	cands, err := st.spacelets()
	if err != nil {
		return Candidate{}, false, err
	}
	for _, c := range cands {
		if c.ID == id {
			return c, true, nil
		}
	}
	return Candidate{}, false, nil
}

// driveStage advances the jobs of stage i and, when all are final, the stage. It reports
// whether the stage is final.
func (st *step) driveStage(i int) (bool, error) {
	sr := &st.d.Stages[i]
	jobs := st.d.Jobs[i]
	var waitReason string
	final, failed, canceled := true, "", false
	for k := range jobs {
		j := &jobs[k]
		if err := st.driveJob(sr, j); err != nil {
			return false, err
		}
		switch j.Status {
		case store.StatusOK:
		case store.StatusError:
			if failed == "" {
				failed = fmt.Sprintf("job %s failed: %s", j.Name, j.Message)
			}
		case store.StatusCanceled:
			canceled = true
		default:
			final = false
			if j.Reason != "" && waitReason == "" {
				waitReason = fmt.Sprintf("job %s waits: %s", j.Name, j.Reason)
			}
		}
	}
	r := &st.d.Run
	if !final {
		if r.Reason != waitReason {
			r.Reason = waitReason
			return false, st.saveRun("Reason")
		}
		return false, nil
	}
	sr.Outputs, sr.FinishedAt = encode(jobOutputs(jobs)), &st.now
	if n := len(sr.Outputs); n > maxEnvBytes && failed == "" {
		failed, sr.Outputs = fmt.Sprintf("the outputs of stage %s take %d bytes, over the limit of %d", sr.Name, n, maxEnvBytes), "{}"
	}
	st.fx.finished = append(st.fx.finished, jobs...)
	switch {
	case failed != "":
		sr.Status, r.Reason = store.StatusError, failed
	case canceled:
		sr.Status = store.StatusCanceled
	default:
		sr.Status = store.StatusOK
	}
	return true, st.saveStage(sr, "Outputs", "Status", "FinishedAt")
}

// driveJob advances one job of a running stage.
func (st *step) driveJob(sr *store.StageRun, j *store.JobRun) error {
	switch j.Status {
	case store.StatusWait:
		return st.placeJob(sr, j)
	case store.StatusDoing, store.StatusCancel:
		if j.LeaseUntil == nil || st.now.Before(*j.LeaseUntil) {
			if j.LeaseUntil != nil {
				st.wake(j.LeaseUntil.Sub(st.now) + time.Second)
			}
			return nil
		}
		if err := st.expire(j); err != nil {
			return err
		}
	}
	if j.Status == store.StatusError && j.Attempt < j.Retries {
		if err := st.retryJob(j); err != nil {
			return err
		}
		return st.placeJob(sr, j)
	}
	return nil
}

// expire ends a job whose spacelet stopped renewing its lease: it ran, so it may have done part
// of its work; it is failed (or, when a cancel was pending, canceled), never silently rerun.
func (st *step) expire(j *store.JobRun) error {
	if j.Status == store.StatusCancel {
		j.Status, j.Message = store.StatusCanceled, "canceled: its spacelet stopped reporting before confirming"
	} else {
		j.Status = store.StatusError
		j.Message = fmt.Sprintf("spacelet %d stopped renewing the job's lease (it expired at %s): the spacelet was lost or cut off mid-job",
			j.SpaceletID, j.LeaseUntil.UTC().Format(time.RFC3339))
	}
	j.FinishedAt, j.LeaseUntil = &st.now, nil
	return st.saveJob(j, "Status", "Message", "FinishedAt", "LeaseUntil")
}

// retryJob puts a failed job back in the queue for its next attempt.
func (st *step) retryJob(j *store.JobRun) error {
	msg := fmt.Sprintf("attempt %d failed (%s); retrying", j.Attempt+1, j.Message)
	st.fx.finished = append(st.fx.finished, *j)
	resetJob(j)
	j.Attempt++
	j.Message = truncate(msg, 1024)
	return st.saveJob(j, jobResetFields...)
}

// placeJob gives a waiting job a spacelet, or takes back an assignment its spacelet can no
// longer honour (offline, draining, removed) as long as the job has not started.
func (st *step) placeJob(sr *store.StageRun, j *store.JobRun) error {
	if j.SpaceletID != 0 {
		c, ok, err := st.candidate(j.SpaceletID)
		if err != nil {
			return err
		}
		if ok && c.Usable() {
			return nil
		}
		j.SpaceletID, j.AssignedAt = 0, nil
	}
	cands, err := st.candidates()
	if err != nil {
		return err
	}
	var sched pipeline.Schedule
	_ = json.Unmarshal([]byte(j.Schedule), &sched)
	id, reason := Place(sched, cands)
	if id == 0 {
		st.wake(WaitRetry)
		if j.Reason == reason && j.SpaceletID == 0 && j.AssignedAt == nil {
			return nil
		}
		j.Reason = reason
		return st.saveJob(j, "Reason", "SpaceletID", "AssignedAt")
	}
	for k := range st.cands {
		if st.cands[k].ID == id {
			st.cands[k].Load++
		}
	}
	st.s.placement.placed(id)
	j.SpaceletID, j.AssignedAt, j.Reason, j.Env = id, &st.now, "", sr.Env
	if err := st.saveJob(j, "SpaceletID", "AssignedAt", "Reason", "Env"); err != nil {
		return err
	}
	st.fx.assigned[id] = true
	return nil
}

// cancel carries out a requested cancellation: jobs not started are canceled, running ones are
// asked to stop; once none runs, the open stages and the run are canceled.
func (st *step) cancel() error {
	busy := false
	for i := range st.d.Stages {
		sr := &st.d.Stages[i]
		if store.Terminal(sr.Status) {
			continue
		}
		for k := range st.d.Jobs[i] {
			j := &st.d.Jobs[i][k]
			switch j.Status {
			case store.StatusWait:
				j.Status, j.Message, j.FinishedAt = store.StatusCanceled, "canceled before it started", &st.now
				if err := st.saveJob(j, "Status", "Message", "FinishedAt"); err != nil {
					return err
				}
			case store.StatusDoing:
				j.Status = store.StatusCancel
				if err := st.saveJob(j, "Status"); err != nil {
					return err
				}
				st.fx.cancels = append(st.fx.cancels, j.ID)
				busy = true
				if j.LeaseUntil != nil {
					st.wake(j.LeaseUntil.Sub(st.now) + time.Second)
				}
			case store.StatusCancel:
				if j.LeaseUntil != nil && !st.now.Before(*j.LeaseUntil) {
					if err := st.expire(j); err != nil {
						return err
					}
					continue
				}
				busy = true
				if j.LeaseUntil != nil {
					st.wake(j.LeaseUntil.Sub(st.now) + time.Second)
				}
			}
		}
	}
	if busy {
		return nil
	}
	for i := range st.d.Stages {
		sr := &st.d.Stages[i]
		if store.Terminal(sr.Status) {
			continue
		}
		st.fx.finished = append(st.fx.finished, st.d.Jobs[i]...)
		sr.Status, sr.Outputs = store.StatusCanceled, encode(jobOutputs(st.d.Jobs[i]))
		if sr.StartedAt != nil {
			sr.FinishedAt = &st.now
		}
		if err := st.saveStage(sr, "Status", "Outputs", "FinishedAt"); err != nil {
			return err
		}
	}
	return st.finishRun(store.StatusCanceled, st.d.Run.Reason)
}

// jobResetFields are the fields resetJob changes.
var jobResetFields = []string{"Status", "SpaceletID", "AssignedAt", "LeaseUntil", "StartedAt", "FinishedAt",
	"Message", "Reason", "ExitCode", "Outputs", "Attempt", "Env"}

// resetJob makes a job wait for a spacelet again.
func resetJob(j *store.JobRun) {
	j.Status, j.SpaceletID, j.AssignedAt, j.LeaseUntil = store.StatusWait, 0, nil, nil
	j.StartedAt, j.FinishedAt, j.Message, j.Reason, j.ExitCode, j.Outputs = nil, nil, "", "", 0, "{}"
}

// jobOutputs merges the outputs of a stage's jobs in job order (pipeline.MergeOutputs drops
// names a job may not set, such as PIPELINE_*).
func jobOutputs(jobs []store.JobRun) Env {
	outs := make([]map[string]string, 0, len(jobs))
	for _, j := range jobs {
		outs = append(outs, decodeEnv(j.Outputs))
	}
	return pipeline.MergeOutputs(nil, outs...)
}
