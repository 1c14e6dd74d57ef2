// Package redisbus is the eventbus.Bus for several processes: Redis PUBLISH/SUBSCRIBE carries the
// nudges and Redis Streams with consumer groups carry the durable messages. It takes a
// redis.UniversalClient, so a single node, Sentinel and Cluster all work; every command touches
// one key, as Cluster requires.
package redisbus

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/internal/mailbox"
)

// Options tunes a Bus. Zero fields take the defaults.
type Options struct {
	// KeyPrefix starts every key and channel name the Bus uses (default "kubespace:"), so several
	// installations, or tests, can share one Redis.
	KeyPrefix string
	// ClaimTimeout is how long a message may stay unacknowledged with a live consumer before
	// another consumer of the group takes it over (default 1m).
	ClaimTimeout time.Duration
	// BlockTime bounds each blocking stream read (default 1s). Redis cannot interrupt a blocked
	// read, so it is also how late Receive may notice ctx ending or Close, and how long a waiting
	// consumer may take to pick up messages released by another consumer's Close.
	BlockTime time.Duration
	// MaxLen caps each stream (XADD MAXLEN ~; default 100000).
	MaxLen int64
	// SubscriberBuffer is the number of nudges buffered per subscriber before the oldest is
	// dropped (default 256).
	SubscriberBuffer int
}

func (o Options) withDefaults() Options {
	if o.KeyPrefix == "" {
		o.KeyPrefix = "kubespace:"
	}
	if o.ClaimTimeout <= 0 {
		o.ClaimTimeout = time.Minute
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 100000
	}
	if o.SubscriberBuffer <= 0 {
		o.SubscriberBuffer = 256
	}
	return o
}

const (
	// payloadField is the single field of each stream entry.
	payloadField = "p"
	// healthCheckInterval is how long a subscription waits in silence before pinging, so idle
	// connections are kept open through proxies and a dead one is noticed.
	healthCheckInterval = 30 * time.Second
	// maxRetryDelay caps the pause between attempts to re-read a broken subscription.
	maxRetryDelay = 5 * time.Second
)

// Bus is an eventbus.Bus on Redis. Create it with New.
type Bus struct {
	client  redis.UniversalClient
	opts    Options
	dropped atomic.Uint64
	wg      sync.WaitGroup // subscription goroutines

	mu        sync.Mutex
	closed    bool
	subs      map[*subscription]struct{}
	consumers map[*consumer]struct{}
}

var _ eventbus.Bus = (*Bus)(nil)

// New returns a Bus using client. The caller keeps ownership of client and closes it after the
// Bus.
func New(client redis.UniversalClient, opts Options) *Bus {
	return &Bus{
		client:    client,
		opts:      opts.withDefaults(),
		subs:      map[*subscription]struct{}{},
		consumers: map[*consumer]struct{}{},
	}
}

// Dropped returns how many nudges have been dropped because a subscriber's buffer was full.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

func (b *Bus) channel(topic string) string { return b.opts.KeyPrefix + "topic:" + topic }

func (b *Bus) streamKey(stream string) string { return b.opts.KeyPrefix + "stream:" + stream }

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Publish implements eventbus.Bus.
func (b *Bus) Publish(ctx context.Context, topic string, payload []byte) error {
	if topic == "" {
		return errors.New("eventbus: empty topic")
	}
	if b.isClosed() {
		return eventbus.ErrClosed
	}
	return b.client.Publish(ctx, b.channel(topic), payload).Err()
}

type subscription struct {
	topic  string
	ps     *redis.PubSub
	box    *mailbox.Mailbox
	cancel context.CancelFunc
}

// Subscribe implements eventbus.Bus. Each subscription holds its own Redis connection.
func (b *Bus) Subscribe(ctx context.Context, topic string) (<-chan eventbus.Message, error) {
	if topic == "" {
		return nil, errors.New("eventbus: empty topic")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.isClosed() {
		return nil, eventbus.ErrClosed
	}
	ps := b.client.Subscribe(ctx, b.channel(topic))
	// Wait for Redis to confirm, so that everything published after we return is delivered. The
	// read does not watch ctx; closing the PubSub is what interrupts it.
	stopWaiting := context.AfterFunc(ctx, func() { _ = ps.Close() })
	reply, err := ps.Receive(ctx)
	if !stopWaiting() {
		return nil, ctx.Err()
	}
	if err == nil {
		if _, ok := reply.(*redis.Subscription); !ok {
			err = errors.New("redis: unexpected reply to SUBSCRIBE")
		}
	}
	if err != nil {
		_ = ps.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &subscription{topic: topic, ps: ps, box: mailbox.New(b.opts.SubscriberBuffer, &b.dropped), cancel: cancel}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		cancel()
		_ = ps.Close()
		return nil, eventbus.ErrClosed
	}
	b.subs[s] = struct{}{}
	b.wg.Add(1)
	go b.run(sctx, s)
	return s.box.C(), nil
}

// run copies messages from Redis into the subscriber's mailbox until ctx ends.
func (b *Bus) run(ctx context.Context, s *subscription) {
	defer b.wg.Done()
	defer func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.cancel()
		_ = s.ps.Close()
		s.box.Close()
	}()
	// Reads do not watch ctx, so closing the PubSub is what interrupts one.
	stop := context.AfterFunc(ctx, func() { _ = s.ps.Close() })
	defer stop()
	delay := 50 * time.Millisecond
	for {
		reply, err := s.ps.ReceiveTimeout(ctx, healthCheckInterval)
		if ctx.Err() != nil {
			return
		}
		var nerr net.Error
		switch {
		case err == nil:
			delay = 50 * time.Millisecond
			if m, ok := reply.(*redis.Message); ok {
				s.box.Put(eventbus.Message{Topic: s.topic, Payload: []byte(m.Payload)})
			}
		case errors.Is(err, redis.ErrClosed):
			return // the caller closed the client; closing the channel tells the subscriber
		case errors.As(err, &nerr) && nerr.Timeout():
			_ = s.ps.Ping(ctx) // a failed ping makes go-redis reconnect and resubscribe
		default:
			// The connection broke; go-redis redials and resubscribes on the next read. Nudges
			// published meanwhile are lost, which level-triggered readers tolerate.
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, maxRetryDelay)
		}
	}
}

// sleep waits for d or until ctx ends, reporting whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Append implements eventbus.Bus.
func (b *Bus) Append(ctx context.Context, stream string, payload []byte) (string, error) {
	if stream == "" {
		return "", errors.New("eventbus: empty stream name")
	}
	if b.isClosed() {
		return "", eventbus.ErrClosed
	}
	return b.client.XAdd(ctx, &redis.XAddArgs{
		Stream: b.streamKey(stream),
		MaxLen: b.opts.MaxLen,
		Approx: true,
		Values: []any{payloadField, payload},
	}).Result()
}

// Ping implements eventbus.Bus.
func (b *Bus) Ping(ctx context.Context) error {
	if b.isClosed() {
		return eventbus.ErrClosed
	}
	return b.client.Ping(ctx).Err()
}

// Close implements eventbus.Bus. It returns once every subscription goroutine has stopped and
// every consumer has handed back its unacknowledged messages.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for s := range b.subs {
		s.cancel()
	}
	consumers := b.consumers
	b.consumers = nil
	b.mu.Unlock()
	// Stop every consumer's Receive first, so that their waits for Redis overlap.
	for c := range consumers {
		c.cancel()
	}
	var errs []error
	for c := range consumers {
		errs = append(errs, c.Close())
	}
	b.wg.Wait()
	return errors.Join(errs...)
}
