package redisbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

const (
	// releasedConsumer holds the messages of consumers that have closed, until another takes them.
	releasedConsumer = "eventbus:released"
	// releaseTimeout bounds the Redis work of Consumer.Close.
	releaseTimeout = 10 * time.Second
	// maxClaimScans bounds the XAUTOCLAIM calls of one Receive; each examines at most ten pending
	// entries, and the cursor carries the scan on into the next Receive.
	maxClaimScans = 100
)

// releaseScript hands every message pending for the closing consumer ARGV[2] to releasedConsumer
// ARGV[3], dated to the epoch so that the next XAUTOCLAIM of any consumer takes it whatever its
// claim timeout, then removes the closing consumer from the group. It runs as one script so that a
// message is never pending for nobody: XGROUP DELCONSUMER alone would forget its messages. JUSTID
// leaves delivery counts alone, as nothing was delivered.
var releaseScript = redis.NewScript(`
local key, group, name, released = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local last
while true do
  local pending = redis.call('XPENDING', key, group, '-', '+', 100, name)
  if #pending == 0 or pending[1][1] == last then break end
  last = pending[1][1]
  local args = {'XCLAIM', key, group, released, 0}
  for _, p in ipairs(pending) do args[#args + 1] = p[1] end
  args[#args + 1] = 'TIME'
  args[#args + 1] = 0
  args[#args + 1] = 'JUSTID'
  redis.call(unpack(args))
end
redis.call('XGROUP', 'DELCONSUMER', key, group, name)
return 0
`)

// Consumer implements eventbus.Bus.
func (b *Bus) Consumer(ctx context.Context, stream, group, name string) (eventbus.Consumer, error) {
	if stream == "" || group == "" || name == "" {
		return nil, errors.New("eventbus: stream, group and consumer names must not be empty")
	}
	if name == releasedConsumer {
		return nil, fmt.Errorf("eventbus: consumer name %q is reserved", name)
	}
	if b.isClosed() {
		return nil, eventbus.ErrClosed
	}
	key := b.streamKey(stream)
	if err := b.createGroup(ctx, key, group); err != nil {
		return nil, err
	}
	// The consumer outlives ctx, which bounds only this call, but keeps its values.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &consumer{bus: b, stream: stream, key: key, group: group, name: name, life: life, cancel: cancel, cursor: "0-0"}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		cancel()
		return nil, eventbus.ErrClosed
	}
	b.consumers[c] = struct{}{}
	return c, nil
}

// createGroup creates group at the start of the stream, and the stream if needed.
func (b *Bus) createGroup(ctx context.Context, key, group string) error {
	err := b.client.XGroupCreateMkStream(ctx, key, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on %s: %w", group, key, err)
	}
	return nil
}

func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }

type consumer struct {
	bus                      *Bus
	stream, key, group, name string
	life                     context.Context // cancelled by Close
	cancel                   context.CancelFunc

	mu       sync.Mutex
	closing  bool
	inflight sync.WaitGroup // Receive calls; Add only under mu while !closing

	scanMu sync.Mutex
	cursor string // where the next XAUTOCLAIM resumes its walk of the pending list
}

func (c *consumer) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.inflight.Add(1)
	return true
}

// stopped reports why Receive must give up: Close (ErrClosed) or the caller's ctx.
func (c *consumer) stopped(ctx context.Context) error {
	if c.life.Err() != nil {
		return eventbus.ErrClosed
	}
	return ctx.Err()
}

// Receive implements eventbus.Consumer. Messages whose holder closed or went idle come first, then
// new ones.
func (c *consumer) Receive(ctx context.Context) (eventbus.Message, error) {
	if !c.enter() {
		return eventbus.Message{}, eventbus.ErrClosed
	}
	defer c.inflight.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()
	for {
		if err := c.stopped(ctx); err != nil {
			return eventbus.Message{}, err
		}
		msg, ok, err := c.claimIdle(ctx)
		if err == nil && !ok {
			msg, ok, err = c.readNew(ctx)
		}
		// A message read as the caller gave up is still returned rather than left pending until
		// the claim timeout. After Close it stays pending: Close hands it on.
		if stop := c.stopped(ctx); stop != nil && (!ok || c.life.Err() != nil) {
			return eventbus.Message{}, stop
		}
		if ok {
			return msg, nil
		}
		if err != nil {
			if isNoGroup(err) { // the stream was deleted under us; start it again
				if err = c.bus.createGroup(ctx, c.key, c.group); err == nil {
					continue
				}
			}
			return eventbus.Message{}, fmt.Errorf("receive from %s: %w", c.key, err)
		}
	}
}

// claimIdle takes over the oldest message that has been pending longer than the claim timeout,
// walking the group's pending list from where the previous call stopped.
func (c *consumer) claimIdle(ctx context.Context) (eventbus.Message, bool, error) {
	c.scanMu.Lock()
	defer c.scanMu.Unlock()
	for range maxClaimScans {
		msgs, next, err := c.bus.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   c.key,
			Group:    c.group,
			Consumer: c.name,
			MinIdle:  c.bus.opts.ClaimTimeout,
			Start:    c.cursor,
			Count:    1,
		}).Result()
		if err != nil {
			return eventbus.Message{}, false, err
		}
		c.cursor = next
		for _, m := range msgs {
			if msg, ok := c.message(m); ok {
				return msg, true, nil
			}
			// Redis 6.2 returns an entry trimmed while pending without fields; it can never be
			// handled, so stop it from being pending.
			if err := c.bus.client.XAck(ctx, c.key, c.group, m.ID).Err(); err != nil {
				return eventbus.Message{}, false, err
			}
		}
		if next == "0-0" {
			break
		}
	}
	return eventbus.Message{}, false, nil
}

// readNew waits up to BlockTime for a message never delivered to the group.
func (c *consumer) readNew(ctx context.Context) (eventbus.Message, bool, error) {
	block := c.bus.opts.BlockTime
	if deadline, ok := ctx.Deadline(); ok {
		// Outlasting the caller's deadline would only cut the read short on clients that honour
		// context deadlines, leaving a delivered message stranded until the claim timeout.
		block = min(block, time.Until(deadline))
	}
	block = max(block, time.Millisecond) // BLOCK 0 would wait forever
	streams, err := c.bus.client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group:    c.group,
		Consumer: c.name,
		Streams:  []string{c.key, ">"},
		Count:    1,
		Block:    block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return eventbus.Message{}, false, nil
	}
	if err != nil {
		return eventbus.Message{}, false, err
	}
	for _, s := range streams {
		for _, m := range s.Messages {
			if msg, ok := c.message(m); ok {
				return msg, true, nil
			}
		}
	}
	return eventbus.Message{}, false, nil
}

func (c *consumer) message(m redis.XMessage) (eventbus.Message, bool) {
	payload, ok := m.Values[payloadField].(string)
	if !ok {
		return eventbus.Message{}, false
	}
	return eventbus.Message{ID: m.ID, Topic: c.stream, Payload: []byte(payload)}, true
}

// Ack implements eventbus.Consumer.
func (c *consumer) Ack(ctx context.Context, id string) error {
	if c.life.Err() != nil {
		return eventbus.ErrClosed
	}
	if err := c.bus.client.XAck(ctx, c.key, c.group, id).Err(); err != nil {
		return fmt.Errorf("ack %s on %s: %w", id, c.key, err)
	}
	return nil
}

// Close implements eventbus.Consumer. It waits for a Receive in progress (at most about BlockTime),
// because the read it is blocked in may still deliver a message to this consumer. If Redis cannot
// be reached the messages stay pending under this consumer's name and are claimed after the claim
// timeout instead.
func (c *consumer) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.mu.Unlock()
	c.cancel()
	c.inflight.Wait()
	defer c.bus.forget(c)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.life), releaseTimeout)
	defer cancel()
	err := releaseScript.Run(ctx, c.bus.client, []string{c.key}, c.group, c.name, releasedConsumer).Err()
	if err != nil && !isNoGroup(err) {
		return fmt.Errorf("release pending messages of consumer %s on %s: %w", c.name, c.key, err)
	}
	return nil
}

func (b *Bus) forget(c *consumer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.consumers, c)
}
