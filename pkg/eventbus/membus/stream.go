package membus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// stream is an append-only log addressed by sequence number (the message ID); entries[0] has
// sequence first. All fields are guarded by Bus.mu.
type stream struct {
	name    string
	first   uint64
	entries [][]byte
	groups  map[string]*group
	// wake is closed, and replaced, whenever a waiting Receive may find something new: an append
	// or messages released by a closing consumer.
	wake chan struct{}
}

// group mirrors a Redis consumer group: a read position plus the delivered, unacknowledged
// messages keyed by sequence.
type group struct {
	next    uint64
	pending map[uint64]*delivery
}

// delivery records who holds a message since when. A nil owner means its consumer closed, so it
// may be claimed at once.
type delivery struct {
	owner *consumer
	at    time.Time
}

func (s *stream) notify() {
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *stream) end() uint64 { return s.first + uint64(len(s.entries)) }

// trim drops the oldest entries once the stream is an eighth past maxLen, so that the copy which
// releases their memory is paid once per maxLen/8 appends rather than on every one.
func (s *stream) trim(maxLen int) {
	if len(s.entries) <= maxLen+maxLen/8 {
		return
	}
	drop := len(s.entries) - maxLen
	s.entries = append([][]byte(nil), s.entries[drop:]...)
	s.first += uint64(drop)
}

func formatID(seq uint64) string { return strconv.FormatUint(seq, 10) }

func parseID(id string) (uint64, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("eventbus: invalid message id %q", id)
	}
	return seq, nil
}

// streamLocked returns the named stream, creating it; b.mu must be held.
func (b *Bus) streamLocked(name string) *stream {
	s := b.streams[name]
	if s == nil {
		s = &stream{name: name, first: 1, groups: map[string]*group{}, wake: make(chan struct{})}
		b.streams[name] = s
	}
	return s
}

// Append implements eventbus.Bus.
func (b *Bus) Append(ctx context.Context, name string, payload []byte) (string, error) {
	if name == "" {
		return "", errors.New("eventbus: empty stream name")
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", eventbus.ErrClosed
	}
	s := b.streamLocked(name)
	seq := s.end()
	s.entries = append(s.entries, bytes.Clone(payload))
	s.trim(b.opts.MaxLen)
	s.notify()
	return formatID(seq), nil
}

// Consumer implements eventbus.Bus.
func (b *Bus) Consumer(ctx context.Context, name, groupName, consumerName string) (eventbus.Consumer, error) {
	if name == "" || groupName == "" || consumerName == "" {
		return nil, errors.New("eventbus: stream, group and consumer names must not be empty")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, eventbus.ErrClosed
	}
	s := b.streamLocked(name)
	g := s.groups[groupName]
	if g == nil {
		g = &group{next: s.first, pending: map[uint64]*delivery{}}
		s.groups[groupName] = g
	}
	c := &consumer{bus: b, s: s, g: g, done: make(chan struct{})}
	b.consumers[c] = struct{}{}
	return c, nil
}

// consumer is one member of a group. Its fields other than done are guarded by Bus.mu.
type consumer struct {
	bus    *Bus
	s      *stream
	g      *group
	closed bool
	done   chan struct{}
}

// Receive implements eventbus.Consumer.
func (c *consumer) Receive(ctx context.Context) (eventbus.Message, error) {
	for {
		if err := ctx.Err(); err != nil {
			return eventbus.Message{}, err
		}
		c.bus.mu.Lock()
		if c.closed || c.bus.closed {
			c.bus.mu.Unlock()
			return eventbus.Message{}, eventbus.ErrClosed
		}
		msg, ok, claimAt := c.take(time.Now())
		wake := c.s.wake
		c.bus.mu.Unlock()
		if ok {
			return msg, nil
		}
		if err := c.wait(ctx, wake, claimAt); err != nil {
			return eventbus.Message{}, err
		}
	}
}

// wait sleeps until something may be receivable: the stream changed or, if claimAt is set, a
// pending message becomes claimable then.
func (c *consumer) wait(ctx context.Context, wake <-chan struct{}, claimAt time.Time) error {
	var timeout <-chan time.Time
	if !claimAt.IsZero() {
		t := time.NewTimer(time.Until(claimAt))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return eventbus.ErrClosed
	case <-wake:
	case <-timeout:
	}
	return nil
}

// take hands c the oldest claimable pending message or else the next new one, and reports when
// the earliest pending message not yet claimable will become so. Bus.mu must be held.
func (c *consumer) take(now time.Time) (msg eventbus.Message, ok bool, claimAt time.Time) {
	s, g := c.s, c.g
	var seq uint64
	for p, d := range g.pending {
		if p < s.first { // trimmed away while pending, as XAUTOCLAIM drops deleted entries
			delete(g.pending, p)
			continue
		}
		at := d.at.Add(c.bus.opts.ClaimTimeout)
		if d.owner == nil || !at.After(now) {
			if !ok || p < seq {
				seq, ok = p, true
			}
		} else if claimAt.IsZero() || at.Before(claimAt) {
			claimAt = at
		}
	}
	if !ok {
		g.next = max(g.next, s.first)
		if g.next < s.end() {
			seq, ok = g.next, true
			g.next++
		}
	}
	if !ok {
		return eventbus.Message{}, false, claimAt
	}
	g.pending[seq] = &delivery{owner: c, at: now}
	payload := bytes.Clone(s.entries[seq-s.first])
	return eventbus.Message{ID: formatID(seq), Topic: s.name, Payload: payload}, true, claimAt
}

// Ack implements eventbus.Consumer.
func (c *consumer) Ack(ctx context.Context, id string) error {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	if c.closed || c.bus.closed {
		return eventbus.ErrClosed
	}
	seq, err := parseID(id)
	if err != nil {
		return err
	}
	delete(c.g.pending, seq)
	return nil
}

// Close implements eventbus.Consumer.
func (c *consumer) Close() error {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.done)
	released := false
	for _, d := range c.g.pending {
		if d.owner == c {
			d.owner = nil
			released = true
		}
	}
	if released {
		c.s.notify()
	}
	delete(c.bus.consumers, c) // a no-op when Bus.Close has already taken the set
	return nil
}
