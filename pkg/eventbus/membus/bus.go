// Package membus is the in-process eventbus.Bus: the bus of the all-in-one embedded mode and of
// tests. Streams are durable only for the life of the process.
package membus

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/internal/mailbox"
)

// Options tunes a Bus. Zero fields take the defaults.
type Options struct {
	// ClaimTimeout is how long a message may stay unacknowledged with a live consumer before
	// another consumer of the group may take it (default 1m).
	ClaimTimeout time.Duration
	// MaxLen caps each stream; older messages are trimmed, approximately, past it (default 100000).
	MaxLen int
	// SubscriberBuffer is the number of nudges buffered per subscriber before the oldest is
	// dropped (default 256).
	SubscriberBuffer int
}

func (o Options) withDefaults() Options {
	if o.ClaimTimeout <= 0 {
		o.ClaimTimeout = time.Minute
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 100000
	}
	if o.SubscriberBuffer <= 0 {
		o.SubscriberBuffer = 256
	}
	return o
}

// Bus is an in-process eventbus.Bus. Create it with New.
type Bus struct {
	opts    Options
	dropped atomic.Uint64

	mu        sync.Mutex
	closed    bool
	topics    map[string]map[*subscriber]struct{}
	streams   map[string]*stream
	consumers map[*consumer]struct{}
}

var _ eventbus.Bus = (*Bus)(nil)

type subscriber struct {
	box  *mailbox.Mailbox
	stop func() bool // unregisters the context.AfterFunc that ends the subscription
}

// New returns an empty Bus.
func New(opts Options) *Bus {
	return &Bus{
		opts:      opts.withDefaults(),
		topics:    map[string]map[*subscriber]struct{}{},
		streams:   map[string]*stream{},
		consumers: map[*consumer]struct{}{},
	}
}

// Dropped returns how many nudges have been dropped because a subscriber's buffer was full.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

// Publish implements eventbus.Bus.
func (b *Bus) Publish(ctx context.Context, topic string, payload []byte) error {
	if topic == "" {
		return errors.New("eventbus: empty topic")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return eventbus.ErrClosed
	}
	for s := range b.topics[topic] {
		// A copy each, so one subscriber changing its payload cannot affect another.
		s.box.Put(eventbus.Message{Topic: topic, Payload: bytes.Clone(payload)})
	}
	return nil
}

// Subscribe implements eventbus.Bus.
func (b *Bus) Subscribe(ctx context.Context, topic string) (<-chan eventbus.Message, error) {
	if topic == "" {
		return nil, errors.New("eventbus: empty topic")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &subscriber{box: mailbox.New(b.opts.SubscriberBuffer, &b.dropped)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, eventbus.ErrClosed
	}
	if b.topics[topic] == nil {
		b.topics[topic] = map[*subscriber]struct{}{}
	}
	b.topics[topic][s] = struct{}{}
	// AfterFunc instead of a goroutine per subscriber: nothing runs until ctx ends, and Close can
	// cancel it.
	s.stop = context.AfterFunc(ctx, func() { b.unsubscribe(topic, s) })
	return s.box.C(), nil
}

func (b *Bus) unsubscribe(topic string, s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if subs := b.topics[topic]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(b.topics, topic)
		}
	}
	s.box.Close()
}

// Ping implements eventbus.Bus.
func (b *Bus) Ping(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return eventbus.ErrClosed
	}
	return ctx.Err()
}

// Close implements eventbus.Bus.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for _, subs := range b.topics {
		for s := range subs {
			s.stop()
			s.box.Close()
		}
	}
	b.topics = nil
	consumers := b.consumers
	b.consumers = nil
	b.mu.Unlock()
	for c := range consumers {
		_ = c.Close()
	}
	return nil
}
