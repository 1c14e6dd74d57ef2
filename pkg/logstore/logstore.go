// Package logstore serves pipeline job logs. Spacelets append them in chunks (package dispatch);
// this package reads them back as one stream from any offset — chunk by chunk, so a 100 MB log
// never sits in memory whole — and follows a running job's log as it grows, woken by the bus's
// log nudges, until the job ends. It also applies the retention of finished jobs' logs.
package logstore

import (
	"context"
	"io"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
)

// readChunks bounds the chunks read at once (chunks are at most a few hundred KiB each).
const readChunks = 16

// Deps are the logstore's collaborators.
type Deps struct {
	Logs store.JobLogs
	Runs store.PipelineRuns
	Bus  eventbus.Bus
	// Retention removes the logs of jobs finished longer ago (0: keep forever).
	Retention time.Duration
	// Recheck is how often a follower re-reads without a nudge (default 2s): a lost nudge
	// delays a follower by at most this.
	Recheck time.Duration
	Log     *slog.Logger
}

// Store reads job logs. It is safe for concurrent use; Run must run for followers to wake on
// nudges rather than on Recheck.
type Store struct {
	d       Deps
	waiters *nudge.Waiters
}

// New returns a Store.
func New(d Deps) *Store {
	if d.Recheck <= 0 {
		d.Recheck = 2 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Store{d: d, waiters: nudge.NewWaiters()}
}

// Run follows log nudges and applies the retention hourly, until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if _, err := s.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
				s.d.Log.WarnContext(ctx, "pruning old job logs failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	g.Go(func() error { return s.waiters.Follow(ctx, s.d.Bus, nudge.TopicLog, s.d.Log) })
	return g.Wait()
}

// Prune removes the logs of jobs that finished more than the retention before now.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	if s.d.Retention <= 0 {
		return 0, nil
	}
	return s.d.Logs.DeleteFinishedBefore(ctx, now.Add(-s.d.Retention))
}

// Stream writes the job's log from offset to w. Without follow it writes what is stored and
// returns; with follow it keeps writing as the log grows until the job has ended and everything
// is written, or ctx ends. flush (may be nil) runs after each batch so the reader sees it now.
// It returns the offset it reached.
func (s *Store) Stream(ctx context.Context, jobID, offset int64, follow bool, w io.Writer, flush func()) (int64, error) {
	if offset < 0 {
		offset = 0
	}
	for {
		var wake <-chan struct{}
		done := func() {}
		var ended bool
		if follow {
			wake, done = s.waiters.Wait(jobID)
			// Read the status before the chunks: a spacelet sends its whole log before
			// reporting the end, so an ended job's chunks read after it are complete.
			j, err := s.d.Runs.GetJob(ctx, jobID)
			if err != nil {
				done()
				return offset, err
			}
			ended = store.Terminal(j.Status)
		}
		n, err := s.copy(ctx, jobID, offset, w, flush)
		offset += n
		if err != nil || !follow {
			done()
			return offset, err
		}
		if n > 0 {
			done()
			continue // more may be stored already
		}
		if ended {
			done()
			return offset, nil
		}
		t := time.NewTimer(s.d.Recheck)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			done()
			return offset, nil
		}
		t.Stop()
		done()
	}
}

// copy writes what is stored from offset on and returns how many bytes it wrote.
func (s *Store) copy(ctx context.Context, jobID, offset int64, w io.Writer, flush func()) (int64, error) {
	var written int64
	for {
		chunks, err := s.d.Logs.Read(ctx, jobID, offset+written, readChunks)
		if err != nil {
			return written, err
		}
		if len(chunks) == 0 {
			return written, nil
		}
		for _, c := range chunks {
			at := offset + written
			if c.Offset > at {
				return written, nil // not contiguous (cannot happen: appends are gapless)
			}
			data := c.Data[at-c.Offset:]
			if _, err := w.Write(data); err != nil {
				return written, err
			}
			written += int64(len(data))
		}
		if flush != nil {
			flush()
		}
		if len(chunks) < readChunks {
			return written, nil
		}
	}
}

// Workspace returns the pipeline workspace of a job (whose viewers may read its log).
func (s *Store) Workspace(ctx context.Context, jobID int64) (int64, error) {
	j, err := s.d.Runs.GetJob(ctx, jobID)
	if err != nil {
		return 0, err
	}
	r, err := s.d.Runs.Get(ctx, j.RunID)
	if err != nil {
		return 0, err
	}
	return r.WorkspaceID, nil
}
