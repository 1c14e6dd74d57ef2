package spacelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

const (
	// maxChunk bounds one log append.
	maxChunk = 256 << 10
	// maxBuffered bounds what a job may have written and the server not yet acknowledged; past
	// it the job's writes wait (its output pipe fills and the process pauses), so a server
	// outage costs no memory.
	maxBuffered = 8 << 20
)

// logStream sends a job's log to the server as it is written: each append carries everything
// written since the previous one was acknowledged, so a quiet job's line goes out at once and a
// chatty job's lines go out in batches. Chunks are retried at the same offset until the server
// acknowledges them (a resend is harmless there).
type logStream struct {
	peer  protocol.Peer
	jobID int64

	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	offset  int64 // where buf starts in the server's log
	closing bool
	gone    bool
	// limit bounds the log (0: none); accepted counts what Write took, truncated says the
	// notice was written.
	limit     int64
	accepted  int64
	truncated bool
	wake      chan struct{}
	done      chan struct{}
}

func newLogStream(peer protocol.Peer, jobID, offset, limit int64) *logStream {
	s := &logStream{peer: peer, jobID: jobID, offset: offset, limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Write implements io.Writer.
func (s *logStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.buf) >= maxBuffered && !s.closing && !s.gone {
		s.cond.Wait()
	}
	if s.gone || s.truncated {
		return len(p), nil // nobody will read it (the job is being stopped, or the log is full)
	}
	if s.limit > 0 && s.accepted+int64(len(p)) > s.limit {
		keep := s.limit - s.accepted
		s.buf = append(s.buf, p[:keep]...)
		s.buf = append(s.buf, fmt.Sprintf("\n[kubespace] the log reached %d bytes; the rest of the job's output is dropped\n", s.limit)...)
		s.accepted, s.truncated = s.limit, true
		s.signal()
		return len(p), nil
	}
	s.accepted += int64(len(p))
	s.buf = append(s.buf, p...)
	s.signal()
	return len(p), nil
}

func (s *logStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends until close and everything is acknowledged, or ctx ends. onGone is called when the
// server says the job is no longer this spacelet's.
func (s *logStream) run(ctx context.Context, onGone func()) {
	defer close(s.done)
	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		s.mu.Lock()
		n := min(len(s.buf), maxChunk)
		chunk := append([]byte(nil), s.buf[:n]...)
		offset, closing := s.offset, s.closing
		s.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		size, err := s.peer.Log(ctx, s.jobID, offset, chunk)
		switch {
		case err == nil:
			backoff.reset()
			s.mu.Lock()
			s.buf = s.buf[n:]
			s.offset = size
			if len(s.buf) == 0 {
				s.buf = nil
			}
			s.cond.Broadcast()
			s.mu.Unlock()
			continue
		case errors.Is(err, protocol.ErrGone):
			s.mu.Lock()
			s.gone, s.buf = true, nil
			s.cond.Broadcast()
			s.mu.Unlock()
			onGone()
			return
		case IsLogGap(err):
			// The server holds less than this stream believed it sent: continue at its end.
			if size, serr := s.peer.Log(ctx, s.jobID, 0, nil); serr == nil {
				s.mu.Lock()
				s.offset = size
				s.mu.Unlock()
				continue
			}
		}
		if !backoff.wait(ctx) {
			return
		}
	}
}

// close waits until everything written was acknowledged, or ctx ends.
func (s *logStream) close(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.signal()
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

// backoff is a capped exponential wait with jitter.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi, cur: lo} }

func (b *backoff) reset() { b.cur = b.min }

// wait sleeps the current delay (±25%) and doubles it; false when ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	d := b.cur - b.cur/4 + time.Duration(jitter(int64(b.cur/2)+1))
	b.cur = min(b.cur*2, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
