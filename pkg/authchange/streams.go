package authchange

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
)

// recheckTimeout bounds one re-check of a stream's caller.
const recheckTimeout = 10 * time.Second

// Streams tracks the open long-lived requests of each user (watches, log follows, exec sessions,
// live updates). When a user's standing changes, each of their streams checks its caller again and
// ends when the caller is no longer authenticated or allowed. It is safe for concurrent use.
type Streams struct {
	ctx context.Context // the application's lifetime: re-checks stop when it ends
	log *slog.Logger
	wg  sync.WaitGroup // re-checks in flight

	mu     sync.Mutex
	closed bool
	byUser map[int64]map[*stream]struct{}
}

type stream struct {
	recheck func(ctx context.Context) error
	end     func()
	once    sync.Once
}

// NewStreams returns a registry that re-checks streams on every change hub delivers, for as long
// as ctx lasts.
func NewStreams(ctx context.Context, hub *Hub, log *slog.Logger) *Streams {
	s := &Streams{ctx: ctx, log: log, byUser: map[int64]map[*stream]struct{}{}}
	hub.Observe(s.changed)
	return s
}

// Track registers an open stream of userID. recheck authenticates and authorizes the caller again
// (errs.Unauthenticated, errs.Forbidden or errs.NotFound end the stream; other errors, such as an
// unavailable database, keep it open and are logged); end closes the stream and must be safe to
// call while it is being served. The returned release unregisters it; call it when the stream ends.
func (s *Streams) Track(userID int64, recheck func(ctx context.Context) error, end func()) (release func()) {
	st := &stream{recheck: recheck, end: end}
	s.mu.Lock()
	if s.byUser[userID] == nil {
		s.byUser[userID] = map[*stream]struct{}{}
	}
	s.byUser[userID][st] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.byUser[userID], st)
		if len(s.byUser[userID]) == 0 {
			delete(s.byUser, userID)
		}
	}
}

// Open returns how many streams are tracked (for tests and metrics).
func (s *Streams) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.byUser {
		n += len(m)
	}
	return n
}

func (s *Streams) changed(userID int64) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	var affected []*stream
	for uid, m := range s.byUser {
		if userID != Everyone && uid != userID {
			continue
		}
		for st := range m {
			affected = append(affected, st)
		}
	}
	s.wg.Add(len(affected))
	s.mu.Unlock()
	for _, st := range affected {
		go func() {
			defer s.wg.Done()
			s.check(st)
		}()
	}
}

func (s *Streams) check(st *stream) {
	ctx, cancel := context.WithTimeout(s.ctx, recheckTimeout)
	defer cancel()
	err := st.recheck(ctx)
	switch {
	case err == nil:
	case errs.Is(err, errs.Unauthenticated), errs.Is(err, errs.Forbidden), errs.Is(err, errs.NotFound):
		st.once.Do(st.end)
	default:
		s.log.Warn("re-checking an open stream's caller failed; the stream stays open", "error", err)
	}
}

// Close waits for re-checks in flight and ignores later changes.
func (s *Streams) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}
