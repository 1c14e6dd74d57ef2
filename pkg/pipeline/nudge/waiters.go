package nudge

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// Waiters wakes the long polls of this process waiting on an object id (a spacelet's Next, a
// job's cancel poll, a log follower) when a nudge about that id arrives. It is safe for
// concurrent use. A wake is a hint: waiters re-read the database, and poll it now and then
// anyway, so a lost nudge only delays them.
type Waiters struct {
	mu sync.Mutex
	m  map[int64]map[chan struct{}]struct{}
}

// NewWaiters returns an empty set.
func NewWaiters() *Waiters { return &Waiters{m: map[int64]map[chan struct{}]struct{}{}} }

// Wait registers interest in id. The channel receives (buffered, once) on the next Wake(id);
// call done when no longer waiting. Register before checking the database, so a wake between
// the check and the wait is not missed.
func (w *Waiters) Wait(id int64) (ch <-chan struct{}, done func()) {
	c := make(chan struct{}, 1)
	w.mu.Lock()
	set := w.m[id]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		w.m[id] = set
	}
	set[c] = struct{}{}
	w.mu.Unlock()
	return c, func() {
		w.mu.Lock()
		delete(w.m[id], c)
		if len(w.m[id]) == 0 {
			delete(w.m, id)
		}
		w.mu.Unlock()
	}
}

// Wake wakes everyone waiting on id.
func (w *Waiters) Wake(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.m[id] {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// WakeAll wakes every waiter (after a resubscription, when nudges may have been lost).
func (w *Waiters) WakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, set := range w.m {
		for c := range set {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
}

// Follow feeds the nudges of topic into w until ctx ends or the bus closes.
func (w *Waiters) Follow(ctx context.Context, bus eventbus.Bus, topic string, log *slog.Logger) error {
	return eventbus.Follow(ctx, bus, topic, log, func(first bool) {
		if !first {
			w.WakeAll()
		}
	}, func(m eventbus.Message) {
		var p payload
		if json.Unmarshal(m.Payload, &p) == nil && p.ID != 0 {
			w.Wake(p.ID)
		}
	})
}
