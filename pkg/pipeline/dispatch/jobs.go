package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// Bounds of what a spacelet reports.
const (
	MaxOutputs     = 100
	MaxOutputValue = 64 << 10
	MaxMessage     = 1024
)

var outputKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// secretName matches variable names whose values are masked in the log: what a job is given
// as a password, token or key is never printed back.
var secretName = regexp.MustCompile(`(?i)(password|passwd|secret|token|private_?key|credential|api_?key)`)

func jobGone(id int64) error {
	return errs.NotFoundf("job %d is no longer this spacelet's (it finished, was failed after its lease ran out, or was reassigned)", id).
		WithCode(protocol.CodeJobGone)
}

// Next waits up to the poll timeout for a job assigned to sp, starts its lease and returns it;
// nil when none came. A draining spacelet gets none.
func (s *Service) Next(ctx context.Context, sp *store.Spacelet) (*protocol.Job, error) {
	return longPoll(ctx, s.assigned, sp.ID, s.d.PollTimeout, s.d.Recheck, func() (*protocol.Job, bool, error) {
		job, err := s.claim(ctx, sp)
		return job, err != nil || job != nil, err
	})
}

// claim starts the oldest job assigned to sp, if any, and builds what the spacelet gets.
func (s *Service) claim(ctx context.Context, sp *store.Spacelet) (*protocol.Job, error) {
	cur, err := s.d.Spacelets.Get(ctx, sp.ID)
	if errs.Is(err, errs.NotFound) {
		return nil, errCredential // removed while it polled
	}
	if err != nil {
		return nil, err
	}
	if cur.Draining {
		return nil, nil
	}
	for {
		j, err := s.d.Dispatch.Claim(ctx, sp.ID, s.d.Now().Add(protocol.LeaseDuration))
		if err != nil || j == nil {
			return nil, err
		}
		run, err := s.d.Runs.Get(ctx, j.RunID)
		if err != nil {
			return nil, fmt.Errorf("load run of job %d: %w", j.ID, err)
		}
		s.jobChanged(ctx, j, run)
		job, err := s.build(ctx, j, run)
		if err == nil {
			return job, nil
		}
		// The job cannot be sent (its repository's credentials are gone, its env is broken):
		// it fails with the reason and the spacelet gets the next one.
		s.d.Log.WarnContext(ctx, "job could not be dispatched", "job_id", j.ID, "error", err)
		r := store.JobResult{Status: store.StatusError, Message: truncate("could not dispatch the job: "+err.Error(), MaxMessage), Outputs: "{}", At: s.d.Now()}
		if _, ferr := s.d.Dispatch.Finish(ctx, j.ID, sp.ID, r); ferr != nil {
			return nil, ferr
		}
		j.Status = store.StatusError
		s.jobChanged(ctx, j, run)
	}
}

// build turns a claimed job row into the protocol's Job.
func (s *Service) build(ctx context.Context, j *store.JobRun, run *store.PipelineRun) (*protocol.Job, error) {
	env := map[string]string{}
	if j.Env != "" {
		if err := json.Unmarshal([]byte(j.Env), &env); err != nil {
			return nil, fmt.Errorf("the job's environment is not a JSON object of strings: %w", err)
		}
	}
	params := json.RawMessage(j.Params)
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	job := &protocol.Job{ID: j.ID, RunID: j.RunID, Name: j.Name, PluginKey: j.PluginKey, Params: params, Env: env,
		TimeoutSeconds: j.TimeoutSeconds, LogOffset: j.LogSize}
	for k, v := range env {
		if secretName.MatchString(k) && v != "" {
			job.Mask = append(job.Mask, v)
		}
	}
	if s.d.Checkouts != nil {
		co, err := s.d.Checkouts.Checkout(ctx, run)
		if err != nil {
			return nil, fmt.Errorf("checkout: %w", err)
		}
		if co != nil {
			job.Checkout = co
			for _, v := range []string{co.Password, co.PrivateKey} {
				if v != "" {
					job.Mask = append(job.Mask, v)
				}
			}
		}
	}
	return job, nil
}

// jobChanged tells the run controller and the console that a job changed.
func (s *Service) jobChanged(ctx context.Context, j *store.JobRun, run *store.PipelineRun) {
	_ = nudge.Publish(ctx, s.d.Bus, nudge.TopicRun, j.RunID)
	if s.d.Publish != nil && run != nil {
		_ = s.d.Publish.Publish(ctx, events.Event{Kind: events.KindJob, ObjectID: j.ID, RunID: j.RunID,
			PipelineID: run.PipelineID, WorkspaceID: run.WorkspaceID, Status: j.Status})
	}
}

// Extend renews the lease of a job sp runs and says whether it was cancelled.
func (s *Service) Extend(ctx context.Context, sp *store.Spacelet, jobID int64) (*protocol.ExtendResponse, error) {
	status, err := s.d.Dispatch.Extend(ctx, jobID, sp.ID, s.d.Now().Add(protocol.LeaseDuration))
	if errs.Is(err, errs.NotFound) || (err == nil && (store.Terminal(status) || status == store.StatusWait)) {
		return nil, jobGone(jobID)
	}
	if err != nil {
		return nil, err
	}
	return &protocol.ExtendResponse{Cancelled: status == store.StatusCancel}, nil
}

// running returns the job if sp runs it now.
func (s *Service) running(ctx context.Context, sp *store.Spacelet, jobID int64) (*store.JobRun, error) {
	j, err := s.d.Runs.GetJob(ctx, jobID)
	if errs.Is(err, errs.NotFound) {
		return nil, jobGone(jobID)
	}
	if err != nil {
		return nil, err
	}
	if j.SpaceletID != sp.ID || (j.Status != store.StatusDoing && j.Status != store.StatusCancel) {
		return nil, jobGone(jobID)
	}
	return j, nil
}

// Log appends a chunk of the log of a job sp runs at offset and returns the stored size. A chunk
// already stored (a resend) changes nothing; empty data asks for the size.
func (s *Service) Log(ctx context.Context, sp *store.Spacelet, jobID, offset int64, data []byte) (int64, error) {
	if offset < 0 {
		return 0, errs.Field("offset", "must not be negative")
	}
	if _, err := s.running(ctx, sp, jobID); err != nil {
		return 0, err
	}
	size, err := s.d.Logs.Append(ctx, jobID, offset, data)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.Conflict && e.Code == "log_gap" {
			return 0, errs.Conflictf("%s", e.Message).WithCode(protocol.CodeLogGap)
		}
		return 0, err
	}
	if len(data) > 0 {
		_ = nudge.Publish(ctx, s.d.Bus, nudge.TopicLog, jobID)
	}
	return size, nil
}

// Done records how a job sp ran ended. A repeated report is harmless.
func (s *Service) Done(ctx context.Context, sp *store.Spacelet, jobID int64, r protocol.Result) error {
	switch r.Status {
	case protocol.ResultOK, protocol.ResultError, protocol.ResultCanceled:
	default:
		return errs.Field("status", "must be ok, error or canceled, got %q", r.Status)
	}
	if len(r.Outputs) > MaxOutputs {
		return errs.Field("outputs", "has %d variables; at most %d are allowed", len(r.Outputs), MaxOutputs)
	}
	for k, v := range r.Outputs {
		if !outputKeyRE.MatchString(k) {
			return errs.Field("outputs", "name %q must be a letter or '_' followed by letters, digits or '_' (at most 128)", k)
		}
		if len(v) > MaxOutputValue {
			return errs.Field("outputs", "value of %s is %d bytes; at most %d are allowed", k, len(v), MaxOutputValue)
		}
	}
	outputs := r.Outputs
	if outputs == nil {
		outputs = map[string]string{}
	}
	b, _ := json.Marshal(outputs)
	changed, err := s.d.Dispatch.Finish(ctx, jobID, sp.ID, store.JobResult{Status: r.Status, Message: truncate(r.Message, MaxMessage),
		ExitCode: r.ExitCode, Outputs: string(b), At: s.d.Now()})
	if errs.Is(err, errs.NotFound) {
		return jobGone(jobID)
	}
	if err != nil || !changed {
		return err
	}
	j, err := s.d.Runs.GetJob(ctx, jobID)
	if err != nil {
		return nil // recorded; the run controller's resync picks it up
	}
	run, _ := s.d.Runs.Get(ctx, j.RunID)
	s.jobChanged(ctx, j, run)
	return nil
}

// Cancelled waits up to the poll timeout for the job to be cancelled.
func (s *Service) Cancelled(ctx context.Context, sp *store.Spacelet, jobID int64) (bool, error) {
	return longPoll(ctx, s.cancels, jobID, s.d.PollTimeout, s.d.Recheck, func() (bool, bool, error) {
		j, err := s.running(ctx, sp, jobID)
		if err != nil {
			return false, true, err
		}
		cancelled := j.Status == store.StatusCancel
		return cancelled, cancelled, nil
	})
}

// longPoll calls check until it reports done, between calls waiting for a nudge on key, the
// recheck interval (a lost nudge costs one interval) or the end of the poll; at the end it
// returns the zero value, which tells the spacelet to ask again.
func longPoll[T any](ctx context.Context, w *nudge.Waiters, key int64, timeout, recheck time.Duration, check func() (T, bool, error)) (T, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		wake, done := w.Wait(key)
		v, finished, err := check()
		if finished {
			done()
			return v, err
		}
		t := time.NewTimer(recheck)
		over := false
		select {
		case <-wake:
		case <-t.C:
		case <-deadline.C:
			over = true
		case <-ctx.Done():
			over = true
		}
		done()
		t.Stop()
		if over {
			var zero T
			return zero, ctx.Err() // nil at the end of the poll
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
