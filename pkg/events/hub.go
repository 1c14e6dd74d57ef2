package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// History bounds: what a reconnecting client can resume from.
const (
	historySize = 4096
	historyAge  = 5 * time.Minute
	// clientBuffer is how many events a slow client may lag before it is reset.
	clientBuffer = 256
)

// Hub receives every event on this replica, keeps a short history and hands events to
// subscribers. It is safe for concurrent use.
type Hub struct {
	bus eventbus.Bus
	log *slog.Logger

	mu      sync.Mutex
	history []Event // oldest first
	subs    map[*Subscription]struct{}
}

// NewHub returns a Hub; Run feeds it.
func NewHub(bus eventbus.Bus, log *slog.Logger) *Hub {
	return &Hub{bus: bus, log: log, subs: map[*Subscription]struct{}{}}
}

// Run receives events from the bus until ctx ends. When its subscription has to be made again,
// every subscriber is reset: events published meanwhile are lost.
func (h *Hub) Run(ctx context.Context) error {
	return eventbus.Follow(ctx, h.bus, topic, h.log, func(first bool) {
		if !first {
			h.resetAll()
		}
	}, func(m eventbus.Message) {
		var ev Event
		if err := json.Unmarshal(m.Payload, &ev); err == nil && ev.ID != "" {
			h.deliver(ev)
		}
	})
}

func (h *Hub) deliver(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.history = append(h.history, ev)
	cut := 0
	for cut < len(h.history) && (len(h.history)-cut > historySize || time.Since(h.history[cut].Time) > historyAge) {
		cut++
	}
	if cut > 0 {
		h.history = append([]Event(nil), h.history[cut:]...)
	}
	for s := range h.subs {
		if s.filter(ev) {
			s.put(ev)
		}
	}
}

func (h *Hub) resetAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.history = nil
	for s := range h.subs {
		s.reset()
	}
}

// Subscription is one client's stream of events.
type Subscription struct {
	hub    *Hub
	filter func(Event) bool
	ch     chan Event
	// resetC is closed when the client lost events and must reload.
	resetC chan struct{}
	once   sync.Once
}

// Subscribe starts a subscription of the events filter accepts. With lastID, the history after
// that event is replayed first; if the history does not reach back to it, the subscription starts
// reset (the client reloads, then follows). Close it when done.
func (h *Hub) Subscribe(lastID string, filter func(Event) bool) *Subscription {
	s := &Subscription{hub: h, filter: filter, ch: make(chan Event, clientBuffer), resetC: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if lastID != "" {
		found := false
		for _, ev := range h.history {
			if found && filter(ev) {
				s.put(ev)
			}
			if ev.ID == lastID {
				found = true
			}
		}
		if !found {
			s.reset()
		}
	}
	h.subs[s] = struct{}{}
	return s
}

// C delivers the events.
func (s *Subscription) C() <-chan Event { return s.ch }

// Reset is closed when events were lost for this subscription.
func (s *Subscription) Reset() <-chan struct{} { return s.resetC }

func (s *Subscription) put(ev Event) {
	select {
	case s.ch <- ev:
	default:
		s.reset() // too slow: the client reloads rather than see a hole
	}
}

func (s *Subscription) reset() { s.once.Do(func() { close(s.resetC) }) }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.subs, s)
}
