// Package authchange tells every server replica that a user's standing changed — a session ended,
// a token was revoked, the user was disabled, edited or deleted, a role binding was granted or
// removed — so that per-process caches drop what they hold about the user and open streams
// (watches, log follows, exec sessions, live updates) check their caller again.
//
// A change is applied on the replica that made it before Changed returns, and reaches the others
// through a pub/sub nudge on the event bus within milliseconds. Nudges are lossy: caches therefore
// also expire their entries after a short time, which bounds how long a lost nudge can matter.
package authchange

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// topic carries the nudges between replicas.
const topic = "auth.changed"

// Everyone is the user id that means "every user" (a change whose set of users is unknown, or a
// replica that may have missed nudges).
const Everyone int64 = 0

// Notifier is what services call after committing a change to a user's credentials or roles.
type Notifier interface {
	// Changed reports that the standing of the given users changed (Everyone: all users).
	Changed(ctx context.Context, userIDs ...int64)
}

// Hub delivers changes to the listeners of this replica and, through the bus, of every replica.
// It is safe for concurrent use.
type Hub struct {
	bus eventbus.Bus
	log *slog.Logger

	mu        sync.RWMutex
	listeners []func(userID int64)
	observers []func(userID int64)
}

var _ Notifier = (*Hub)(nil)

// New returns a Hub publishing on bus.
func New(bus eventbus.Bus, log *slog.Logger) *Hub { return &Hub{bus: bus, log: log} }

// Listen registers fn; it is called once per changed user (or with Everyone) on this replica,
// for changes made here and on other replicas. fn must not block for long.
func (h *Hub) Listen(fn func(userID int64)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listeners = append(h.listeners, fn)
}

// Observe registers fn to be called after every listener has dropped what it caches about the
// changed users, so fn sees their current standing (Streams re-checks callers this way).
func (h *Hub) Observe(fn func(userID int64)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.observers = append(h.observers, fn)
}

func (h *Hub) deliver(ids []int64) {
	h.mu.RLock()
	ls := append([]func(int64){}, h.listeners...)
	os := append([]func(int64){}, h.observers...)
	h.mu.RUnlock()
	for _, fns := range [][]func(int64){ls, os} {
		for _, id := range ids {
			for _, f := range fns {
				f(id)
			}
		}
	}
}

type message struct {
	Users []int64 `json:"users"`
}

// Changed implements Notifier: it applies the change here at once, then tells the other replicas.
// A failure to publish is logged; the other replicas' caches expire the entries shortly anyway.
func (h *Hub) Changed(ctx context.Context, userIDs ...int64) {
	if len(userIDs) == 0 {
		return
	}
	h.deliver(userIDs)
	payload, _ := json.Marshal(message{Users: userIDs})
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.bus.Publish(pctx, topic, payload); err != nil {
		h.log.WarnContext(ctx, "publishing an authorization change failed", "error", err, "users", userIDs)
	}
}

// Run receives the other replicas' changes until ctx ends. Whenever the subscription is
// (re)established, every listener is told Everyone changed, since nudges sent while it was down
// are lost.
func (h *Hub) Run(ctx context.Context) error {
	return eventbus.Follow(ctx, h.bus, topic, h.log, func(bool) { h.deliver([]int64{Everyone}) }, func(m eventbus.Message) {
		var msg message
		if err := json.Unmarshal(m.Payload, &msg); err != nil {
			h.log.WarnContext(ctx, "malformed authorization change", "error", err)
			return
		}
		h.deliver(msg.Users)
	})
}
