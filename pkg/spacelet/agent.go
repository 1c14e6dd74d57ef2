// Package spacelet is the KubeSpace worker. It registers with the server once (a registration
// token buys it a credential it keeps in its data directory, so restarts keep its identity),
// reports its load in heartbeats and long-polls for the jobs the controller assigned to it. Each
// job runs in its own work directory under a lease the agent extends; its log streams to the
// server in chunks as it is written, with secret values masked; a cancel reaches the process
// within a second. The spacelet never listens for work: everything is a call it makes (see
// package protocol).
package spacelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubespace/kubespace/pkg/plugin"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

// Plugins finds the plugin a job names.
type Plugins interface {
	Get(key string) (plugin.Plugin, bool)
}

// Checkouter clones a job's repository into its work directory at the job's commit, writing its
// progress to log. Cancellation arrives through ctx.
type Checkouter interface {
	Checkout(ctx context.Context, dir string, co protocol.Checkout, log io.Writer) error
}

// Config is what an Agent needs besides its peer.
type Config struct {
	// Name identifies the spacelet (default: the hostname). Hostname is reported for pinning.
	Name     string
	Hostname string
	Labels   map[string]string
	// Capacity is how many jobs run at once (default 2).
	Capacity int
	// DataDir keeps the credential and the jobs' work directories.
	DataDir string
	// RegistrationToken is used when DataDir holds no credential (or it was refused).
	RegistrationToken string
	Version           string
	Plugins           Plugins
	// Checkout clones repositories for jobs that carry a Checkout (nil: such jobs fail).
	Checkout Checkouter
	// DefaultTimeout bounds jobs that set none (default 1 hour).
	DefaultTimeout time.Duration
	// ShutdownGrace is how long running jobs may continue once Run's ctx ends before they are
	// stopped and reported as failed.
	ShutdownGrace time.Duration
	// MaxLogBytes bounds one job's log (default 512 MiB; -1: unbounded): past it the job's
	// output is dropped, with a notice, and the job runs on.
	MaxLogBytes int64
	Log         *slog.Logger
}

// credentialFile is the name of the credential in DataDir.
const credentialFile = "credential"

// Agent runs jobs for one spacelet identity.
type Agent struct {
	peer protocol.Peer
	cfg  Config
	log  *slog.Logger

	id       atomic.Int64
	running  atomic.Int64
	draining atomic.Bool
	// executed counts jobs started (tests and metrics).
	executed atomic.Int64
}

// New returns an agent talking to peer.
func New(peer protocol.Peer, cfg Config) *Agent {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Hostname
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 2
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = time.Hour
	}
	switch {
	case cfg.MaxLogBytes == 0:
		cfg.MaxLogBytes = 512 << 20
	case cfg.MaxLogBytes < 0:
		cfg.MaxLogBytes = 0
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	return &Agent{peer: peer, cfg: cfg, log: cfg.Log}
}

// ID is the spacelet's id once registered (0 before).
func (a *Agent) ID() int64 { return a.id.Load() }

// Running is the number of jobs running now.
func (a *Agent) Running() int { return int(a.running.Load()) }

// Executed is the number of jobs this agent started.
func (a *Agent) Executed() int64 { return a.executed.Load() }

// Register makes sure the spacelet has an identity: it re-registers with the credential kept in
// DataDir, or exchanges the registration token for one and keeps it there.
func (a *Agent) Register(ctx context.Context) error {
	credPath := filepath.Join(a.cfg.DataDir, credentialFile)
	req := protocol.RegisterRequest{Name: a.cfg.Name, Hostname: a.cfg.Hostname, Labels: a.cfg.Labels, Capacity: a.cfg.Capacity,
		Version: a.cfg.Version, OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b, err := os.ReadFile(credPath); err == nil && strings.TrimSpace(string(b)) != "" {
		cred := strings.TrimSpace(string(b))
		r := req
		r.Credential = cred
		resp, err := a.peer.Register(ctx, r)
		if err == nil {
			a.useCredential(cred, resp)
			return nil
		}
		if !errors.Is(err, protocol.ErrUnauthorized) || a.cfg.RegistrationToken == "" {
			return fmt.Errorf("register with the credential in %s: %w", credPath, err)
		}
		a.log.WarnContext(ctx, "stored credential refused; registering with the registration token", "error", err)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read credential: %w", err)
	}
	if a.cfg.RegistrationToken == "" {
		return fmt.Errorf("no credential in %s and no registration token: create one on the Spacelets page and set REGISTRATION_TOKEN", a.cfg.DataDir)
	}
	req.Token = a.cfg.RegistrationToken
	resp, err := a.peer.Register(ctx, req)
	if err != nil {
		return fmt.Errorf("register with the registration token: %w", err)
	}
	if resp.Credential == "" {
		return errors.New("register: the server returned no credential")
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	tmp := credPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(resp.Credential+"\n"), 0o600); err != nil {
		return fmt.Errorf("keep credential: %w", err)
	}
	if err := os.Rename(tmp, credPath); err != nil {
		return fmt.Errorf("keep credential: %w", err)
	}
	a.useCredential(resp.Credential, resp)
	return nil
}

func (a *Agent) useCredential(cred string, resp *protocol.RegisterResponse) {
	if h, ok := a.peer.(CredentialHolder); ok {
		h.SetCredential(cred)
	}
	a.id.Store(resp.ID)
	a.log.Info("spacelet registered", "spacelet_id", resp.ID, "name", resp.Name)
}

// Run registers (retrying while the server is unreachable), then heartbeats and runs jobs until
// ctx ends. Then it takes no new jobs, gives the running ones ShutdownGrace to finish, stops the
// rest and reports them, and returns nil. When the server refuses the spacelet's credential (it
// was removed) Run stops its jobs and returns an error wrapping protocol.ErrUnauthorized.
func (a *Agent) Run(ctx context.Context) error {
	bo := newBackoff(500*time.Millisecond, 15*time.Second)
	for {
		err := a.Register(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil // stopped before it started
		}
		var se *Error
		if errors.Is(err, protocol.ErrUnauthorized) || strings.Contains(err.Error(), "no registration token") ||
			(errors.As(err, &se) && (se.Code == protocol.CodeVersion || se.Status == http.StatusBadRequest)) {
			return err // retrying cannot help: the operator must act
		}
		a.log.WarnContext(ctx, "registration failed; retrying", "error", err)
		if !bo.wait(ctx) {
			return nil
		}
	}
	// Work directories left by a spacelet that was killed mid-job belong to jobs the server has
	// failed (or will, when their lease runs out).
	_ = os.RemoveAll(filepath.Join(a.cfg.DataDir, "jobs"))
	// jobsCtx outlives ctx by the shutdown grace: running jobs may finish.
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	// pollCtx ends with ctx, or when the server refuses the credential (the spacelet was
	// removed): then the agent stops as on a shutdown and returns the refusal.
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	var fatal error
	var jobs sync.WaitGroup
	var loops sync.WaitGroup
	loops.Add(1)
	go func() {
		defer loops.Done()
		a.heartbeats(pollCtx)
	}()
	slots := make(chan struct{}, a.cfg.Capacity)
	bo.reset()
	for pollCtx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-pollCtx.Done():
			continue
		}
		job, err := a.peer.Next(pollCtx)
		if err != nil || job == nil {
			<-slots
			if err != nil && pollCtx.Err() == nil {
				a.log.WarnContext(ctx, "polling for jobs failed", "error", err)
				if errors.Is(err, protocol.ErrUnauthorized) {
					fatal = err
					stopPolling()
					continue
				}
				bo.wait(pollCtx)
			}
			continue
		}
		bo.reset()
		jobs.Add(1)
		a.running.Add(1)
		a.executed.Add(1)
		go func() {
			defer func() {
				a.running.Add(-1)
				<-slots
				jobs.Done()
			}()
			a.runJob(jobsCtx, job)
		}()
	}
	loops.Wait()
	finished := make(chan struct{})
	go func() {
		jobs.Wait()
		close(finished)
	}()
	if a.cfg.ShutdownGrace > 0 && fatal == nil {
		select {
		case <-finished:
		case <-time.After(a.cfg.ShutdownGrace):
		}
	}
	stopJobs()
	<-finished
	return fatal
}

// heartbeats reports load every protocol.HeartbeatEvery until ctx ends.
func (a *Agent) heartbeats(ctx context.Context) {
	t := time.NewTicker(protocol.HeartbeatEvery)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, protocol.HeartbeatEvery)
		r, err := a.peer.Heartbeat(hctx, protocol.Heartbeat{Running: a.Running(), Capacity: a.cfg.Capacity})
		cancel()
		if err == nil {
			if a.draining.Swap(r.Draining) != r.Draining {
				a.log.Info("draining changed", "draining", r.Draining)
			}
		} else if ctx.Err() == nil {
			a.log.WarnContext(ctx, "heartbeat failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Draining reports whether the server last said this spacelet drains.
func (a *Agent) Draining() bool { return a.draining.Load() }

func jitter(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}
