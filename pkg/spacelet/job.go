package spacelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kubespace/kubespace/pkg/plugin"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

// Why a job's context ended, besides its timeout (whose cause names the duration).
var (
	errCancelled = errors.New("cancelled")
	errGone      = errors.New("the job is no longer this spacelet's")
)

// reportFor bounds how long a finished job's result is retried while the server is unreachable;
// past the lease the server has failed the job anyway.
const reportFor = 2 * protocol.LeaseDuration

// runJob runs one job to its end and reports it. ctx ends when the agent stops (after its grace).
func (a *Agent) runJob(ctx context.Context, job *protocol.Job) {
	log := a.log.With("job_id", job.ID, "plugin", job.PluginKey)
	log.Info("job started")
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var gone atomic.Bool
	onGone := func() {
		gone.Store(true)
		cancel(errGone)
	}
	// The log outlives the job's context: what the job wrote is sent after it was stopped too.
	streamCtx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStream()
	stream := newLogStream(a.peer, job.ID, job.LogOffset, a.cfg.MaxLogBytes)
	go stream.run(streamCtx, onGone)
	masker := NewMasker(stream, job.Mask)

	watchCtx, stopWatch := context.WithCancel(jctx)
	watched := make(chan struct{}, 2)
	go func() { a.extendLoop(watchCtx, job.ID, cancel, onGone); watched <- struct{}{} }()
	go func() { a.cancelWatch(watchCtx, job.ID, cancel, onGone); watched <- struct{}{} }()

	res := a.execute(jctx, job, masker)
	stopWatch()
	<-watched
	<-watched
	if res.Status != protocol.ResultOK && res.Message != "" {
		fmt.Fprintf(masker, "\n[kubespace] %s\n", res.Message)
	}
	_ = masker.Flush()
	closeCtx, closeDone := context.WithTimeout(context.WithoutCancel(ctx), reportFor)
	defer closeDone()
	stream.close(closeCtx)
	stopStream()
	if gone.Load() {
		log.Warn("job taken away by the server; not reporting it")
		return
	}
	res.Message = maskString(res.Message, job.Mask)
	bo := newBackoff(200*time.Millisecond, 5*time.Second)
	for {
		err := a.peer.Done(closeCtx, job.ID, res)
		if err == nil || errors.Is(err, protocol.ErrGone) {
			log.Info("job finished", "status", res.Status, "exit_code", res.ExitCode)
			return
		}
		log.Warn("reporting the job failed; retrying", "error", err)
		if !bo.wait(closeCtx) {
			log.Error("could not report the job; the server fails it when its lease ends", "error", err)
			return
		}
	}
}

// execute prepares the work directory, checks out the code and runs the plugin.
func (a *Agent) execute(ctx context.Context, job *protocol.Job, log io.Writer) protocol.Result {
	timeout := a.cfg.DefaultTimeout
	if job.TimeoutSeconds > 0 {
		timeout = time.Duration(job.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("the job timed out after %s", timeout))
	defer cancel()
	dir := filepath.Join(a.cfg.DataDir, "jobs", strconv.FormatInt(job.ID, 10))
	_ = os.RemoveAll(dir) // a directory left by a crash of an earlier attempt
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return protocol.Result{Status: protocol.ResultError, Message: fmt.Sprintf("create the work directory: %v", err)}
	}
	defer os.RemoveAll(dir)
	p, ok := a.cfg.Plugins.Get(job.PluginKey)
	if !ok {
		return protocol.Result{Status: protocol.ResultError,
			Message: fmt.Sprintf("plugin %q is not available on this spacelet (version %s)", job.PluginKey, a.cfg.Version)}
	}
	if job.Checkout != nil {
		if a.cfg.Checkout == nil {
			return protocol.Result{Status: protocol.ResultError, Message: "this spacelet cannot check out code (no git support)"}
		}
		fmt.Fprintf(log, "[kubespace] checking out %s at %s\n", job.Checkout.URL, shortCommit(job.Checkout))
		if err := a.cfg.Checkout.Checkout(ctx, dir, *job.Checkout, log); err != nil {
			if r, stopped := a.stopped(ctx); stopped {
				return r
			}
			return protocol.Result{Status: protocol.ResultError, Message: fmt.Sprintf("checkout failed: %v", err)}
		}
	}
	env := make(map[string]string, len(job.Env))
	for k, v := range job.Env {
		env[k] = v
	}
	outputs, err := p.Run(ctx, &plugin.Job{ID: job.ID, Params: job.Params, Env: env, Dir: dir, Log: log})
	if r, stopped := a.stopped(ctx); stopped {
		return r
	}
	if err != nil {
		var ee *plugin.ExitError
		if errors.As(err, &ee) {
			return protocol.Result{Status: protocol.ResultError, ExitCode: ee.Code, Message: ee.Msg}
		}
		return protocol.Result{Status: protocol.ResultError, Message: err.Error()}
	}
	return protocol.Result{Status: protocol.ResultOK, Message: "succeeded", Outputs: outputs}
}

// stopped reports how a job ended when its context ended: cancelled, taken away, timed out or
// stopped with the spacelet.
func (a *Agent) stopped(ctx context.Context) (protocol.Result, bool) {
	if ctx.Err() == nil {
		return protocol.Result{}, false
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errCancelled):
		return protocol.Result{Status: protocol.ResultCanceled, Message: "cancelled"}, true
	case errors.Is(cause, errGone):
		return protocol.Result{Status: protocol.ResultError, Message: errGone.Error()}, true
	case errors.Is(cause, context.Canceled):
		return protocol.Result{Status: protocol.ResultError, Message: "the spacelet stopped while the job ran"}, true
	}
	return protocol.Result{Status: protocol.ResultError, Message: cause.Error()}, true
}

// extendLoop renews the job's lease every protocol.ExtendEvery until ctx ends; the answer may
// say the job was cancelled.
func (a *Agent) extendLoop(ctx context.Context, jobID int64, cancel context.CancelCauseFunc, onGone func()) {
	t := time.NewTicker(protocol.ExtendEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r, err := a.peer.Extend(ctx, jobID)
		switch {
		case errors.Is(err, protocol.ErrGone):
			onGone()
			return
		case err != nil:
			if ctx.Err() == nil {
				a.log.Warn("extending the lease failed", "job_id", jobID, "error", err)
			}
		case r.Cancelled:
			cancel(errCancelled)
			return
		}
	}
}

// cancelWatch long-polls the server for a cancel of the job until ctx ends.
func (a *Agent) cancelWatch(ctx context.Context, jobID int64, cancel context.CancelCauseFunc, onGone func()) {
	bo := newBackoff(200*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		c, err := a.peer.Cancelled(ctx, jobID)
		switch {
		case errors.Is(err, protocol.ErrGone):
			onGone()
			return
		case err != nil:
			if ctx.Err() == nil {
				a.log.Warn("watching for a cancel failed", "job_id", jobID, "error", err)
				bo.wait(ctx)
			}
		case c:
			cancel(errCancelled)
			return
		default:
			bo.reset()
		}
	}
}

func shortCommit(co *protocol.Checkout) string {
	if co.Commit != "" {
		return co.Commit[:min(len(co.Commit), 12)]
	}
	return co.Branch
}

// maskString masks secret values in a message.
func maskString(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= minMaskLen {
			s = strings.ReplaceAll(s, v, MaskText)
		}
	}
	return s
}
